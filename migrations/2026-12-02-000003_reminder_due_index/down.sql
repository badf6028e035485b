DROP INDEX idx_orders_reminder_clock;
