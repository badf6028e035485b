DROP TRIGGER order_search_after_update;
DROP TRIGGER order_search_after_delete;
DROP TRIGGER order_search_after_insert;
DROP TABLE order_search;
DROP INDEX idx_orders_created_at;
DROP INDEX idx_orders_client_phone;
DROP INDEX idx_orders_status_id;
