-- Children first, so that the drops never orphan a row while foreign keys are on.
DROP TABLE audit_log;
DROP TABLE orders;
DROP TABLE masters;
DROP TABLE users;
