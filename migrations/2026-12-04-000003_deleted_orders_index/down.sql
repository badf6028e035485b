DROP INDEX idx_orders_deleted_status;
DROP INDEX idx_orders_deleted;
