DROP INDEX idx_outbox_created_at;
DROP INDEX idx_outbox_pending;
DROP TABLE outbox;
