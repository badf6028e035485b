-- What the running bot keeps between updates and across restarts.

-- Half-finished dialogues (teloxide's dialogue storage), one per chat, as JSON.
CREATE TABLE dialogues (
    chat_id BIGINT PRIMARY KEY NOT NULL,
    state TEXT NOT NULL,
    updated_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP
);

-- Reminders to a master who has not accepted an assigned order (bounded back-off).
ALTER TABLE orders ADD COLUMN reminders_sent INTEGER NOT NULL DEFAULT 0;
ALTER TABLE orders ADD COLUMN last_reminded_at TIMESTAMP;

-- SLA alerts already sent: one per order and status threshold.
CREATE TABLE sla_alerts (
    order_id BIGINT NOT NULL REFERENCES orders(id) ON DELETE CASCADE,
    status TEXT NOT NULL,
    alerted_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
    PRIMARY KEY (order_id, status)
);

-- The last run of each periodic job (daily backup, daily summary), so a restart neither
-- repeats nor skips one.
CREATE TABLE job_runs (
    job TEXT PRIMARY KEY NOT NULL,
    last_run_at TIMESTAMP NOT NULL
);
