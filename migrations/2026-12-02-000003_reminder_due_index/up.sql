-- Reminders due (SPEC 2.5) found through an index instead of by reading every assigned order.
-- A reminder is due a gap after the order's reminder clock: its last reminder, or its
-- assignment before the first one; the gap depends on how many were sent. One range of this
-- index per count sent holds exactly the due orders, and orders that had all their reminders
-- are never read (an adopted database may hold thousands of them). The query must spell the
-- expression as here, or SQLite does not use the index.
CREATE INDEX idx_orders_reminder_clock
    ON orders(status, reminders_sent, COALESCE(last_reminded_at, status_changed_at));
