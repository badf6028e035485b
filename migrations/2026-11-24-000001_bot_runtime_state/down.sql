DROP TABLE job_runs;
DROP TABLE sla_alerts;
ALTER TABLE orders DROP COLUMN last_reminded_at;
ALTER TABLE orders DROP COLUMN reminders_sent;
DROP TABLE dialogues;
