DROP TABLE migration_ledger;
