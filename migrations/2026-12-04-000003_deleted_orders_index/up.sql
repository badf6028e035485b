-- Soft-deleted orders (orders.deleted_at, added by company_day) found without reading the
-- others. Deleted orders are few, so both indexes stay small; a query reaches them only when
-- its WHERE says `deleted_at IS NOT NULL`.
-- The admins' list of deleted orders, newest first and paged by id.
CREATE INDEX idx_orders_deleted ON orders(id) WHERE deleted_at IS NOT NULL;
-- The deleted orders per status, which the lists by status subtract from the counts of the
-- status index (a filter on deleted_at there would read every row).
CREATE INDEX idx_orders_deleted_status ON orders(status) WHERE deleted_at IS NOT NULL;
