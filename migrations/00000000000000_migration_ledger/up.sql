-- What the bot knows about each applied migration beyond diesel's own table:
-- the checksum of the up.sql that ran (an edited migration is refused at startup)
-- and whether it was stamped (found already present in an old database) rather than run.
CREATE TABLE migration_ledger (
    version TEXT PRIMARY KEY NOT NULL,
    checksum TEXT NOT NULL,
    stamped BOOLEAN NOT NULL DEFAULT 0,
    recorded_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP
);
