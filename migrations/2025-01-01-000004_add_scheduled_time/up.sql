-- Legacy step 4: arrival time or an instruction, free text.
ALTER TABLE orders ADD COLUMN scheduled_time TEXT;
