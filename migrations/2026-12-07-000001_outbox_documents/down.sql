-- Pending files are dropped with the column; their captions would go as plain messages, so
-- they are dropped too rather than sent without what they announce.
DELETE FROM outbox WHERE document IS NOT NULL;
ALTER TABLE outbox DROP COLUMN document;
