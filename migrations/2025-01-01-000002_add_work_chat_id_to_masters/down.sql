ALTER TABLE masters DROP COLUMN work_chat_id;
