-- Telegram updates the bot has finished handling and not yet acknowledged to Telegram
-- (getUpdates offset). After a crash the unacknowledged batch comes again: ids found here are
-- skipped, so an update is handled once. Rows below the acknowledged offset are deleted.
CREATE TABLE handled_updates (
    update_id BIGINT PRIMARY KEY NOT NULL,
    handled_at TIMESTAMP NOT NULL
);
