-- Messages the bot owes people because of a change (notifications, reminders, alerts,
-- summaries), written in the same transaction as the change and delivered afterwards by one
-- sender that keeps to Telegram's limits. A row is pending until `sent_at` (delivered) or
-- `failed_at` (can never be delivered: the reason is in `failure`). A crash between the
-- change and the send leaves the row pending: it is sent after the next start.
CREATE TABLE outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    chat_id BIGINT NOT NULL,
    text TEXT NOT NULL,
    -- The Bot API `reply_markup` as JSON (buttons), if any.
    reply_markup TEXT,
    -- Where the message goes instead when `chat_id` refuses it for good (a master's private
    -- chat behind his work group), and its text there.
    fallback_chat_id BIGINT,
    fallback_text TEXT,
    -- Pending messages of one chat with the same key may go as one digest, each as its line.
    digest_key TEXT,
    digest_line TEXT,
    created_at TIMESTAMP NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    sent_at TIMESTAMP,
    telegram_message_id INTEGER,
    failed_at TIMESTAMP,
    failure TEXT
);

-- The sender reads only what is pending: the oldest message of each chat, then a chat's own.
CREATE INDEX idx_outbox_pending ON outbox(chat_id, id) WHERE sent_at IS NULL AND failed_at IS NULL;
-- Delivered and failed rows are forgotten after a while.
CREATE INDEX idx_outbox_created_at ON outbox(created_at);
