-- What a repair company uses every day: pay rules, visits understood as times, long repairs,
-- soft delete of orders, senior and fired masters. Every new column has a default that keeps
-- the rows already there meaning what they meant.

-- Pay rules (SPEC 2.3 and the configured rules): a job outside the city earns the master a
-- bonus; how the client paid decides who owes whom.
ALTER TABLE orders ADD COLUMN out_of_city BOOLEAN NOT NULL DEFAULT 0;
-- CASH: the master took the money and owes the company its share; CASHLESS: the company got
-- it and owes the master his share and the materials he paid for. NULL until closed (and on
-- orders closed before this migration, which count as cash: that was the only way then).
ALTER TABLE orders ADD COLUMN payment TEXT CHECK (payment IN ('CASH', 'CASHLESS'));
-- What the master owes the company for this order; negative when the company owes him.
ALTER TABLE orders ADD COLUMN cash_due_kopecks BIGINT;
-- A prepayment the client made on a long repair, part of the total at closing.
ALTER TABLE orders ADD COLUMN prepayment_kopecks BIGINT;

-- Long repair (DR): when the master expects to finish, and what parts it waits for.
ALTER TABLE orders ADD COLUMN expected_ready_on DATE;
ALTER TABLE orders ADD COLUMN parts_note TEXT;

-- The visit as a moment (UTC), when `scheduled_time` could be read as one; NULL when it is an
-- instruction ("позвонить за час"). `visit_reminded_at`: the reminder before it was queued.
ALTER TABLE orders ADD COLUMN visit_at TIMESTAMP;
ALTER TABLE orders ADD COLUMN visit_reminded_at TIMESTAMP;
ALTER TABLE orders ADD COLUMN reschedule_count INTEGER NOT NULL DEFAULT 0;

-- Soft delete: a deleted order keeps its row, history and money, and can be restored.
ALTER TABLE orders ADD COLUMN deleted_at TIMESTAMP;
ALTER TABLE orders ADD COLUMN deleted_by BIGINT;

-- Visits coming up that nobody was reminded of yet.
CREATE INDEX idx_orders_visit_due ON orders(visit_at)
    WHERE visit_at IS NOT NULL AND visit_reminded_at IS NULL;

-- A senior master's share never falls below the configured floor (50% by default).
ALTER TABLE masters ADD COLUMN is_senior BOOLEAN NOT NULL DEFAULT 0;
-- A fired master keeps his row, orders and history; he can no longer be assigned or act.
ALTER TABLE masters ADD COLUMN fired_at TIMESTAMP;
