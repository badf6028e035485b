-- A file that goes with an outbox message (a scheduled report's workbook, a master's monthly
-- statement). The row keeps what to build, as JSON, not the file: a month's workbook is
-- megabytes, and built when it is sent it still reflects the period's figures, since a past
-- period only changes by an admin's money correction. The message's text is the file's caption.
ALTER TABLE outbox ADD COLUMN document TEXT;
