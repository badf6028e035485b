ALTER TABLE orders DROP COLUMN scheduled_time;
