-- Legacy step 2: the master's work group (a Telegram chat id).
ALTER TABLE masters ADD COLUMN work_chat_id INTEGER;
