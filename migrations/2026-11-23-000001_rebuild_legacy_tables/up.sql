-- repair-bot: table rebuild (run with foreign keys off, then PRAGMA foreign_key_check)
-- Rebuild the five legacy tables into the schema the bot relies on, keeping every row:
--   * Telegram ids are BIGINT, internal ids stay INTEGER PRIMARY KEY (64-bit rowids);
--   * NOT NULL where the code relies on it, NULLs the old bot left where a default was meant
--     get that default;
--   * orders.status is checked against the seven statuses (case and blanks normalised);
--   * money is exact integer kopecks, converted from the old REAL rubles by rounding to the
--     nearest kopeck (3500.5 -> 350050);
--   * roles are a set per user (user_roles) instead of comma-separated text; UNKNOWN means no role.
-- The old bot never enforced foreign keys. Dangling references are treated deterministically:
--   * a reference to a Telegram user that has no users row gets a placeholder users row
--     (the id is kept, names are NULL, no role), so no author or dispatcher is lost;
--   * orders.assigned_master_id pointing to a missing master becomes NULL, the old value kept
--     in adoption_orphans;
--   * an order_status_history row of a missing order is moved, whole (JSON), to adoption_orphans.
-- Written to work with foreign keys on (diesel CLI) as well as off (the bot's runner): the legacy
-- tables are renamed aside first, so every new table is created under its final name.

DROP TABLE IF EXISTS alembic_version;

ALTER TABLE order_status_history RENAME TO legacy_order_status_history;
ALTER TABLE audit_log RENAME TO legacy_audit_log;
ALTER TABLE orders RENAME TO legacy_orders;
ALTER TABLE masters RENAME TO legacy_masters;
ALTER TABLE users RENAME TO legacy_users;

-- Each new AUTOINCREMENT table inherits the legacy high-water mark, so ids of rows the old bot
-- deleted are never handed out again (order numbers are quoted to clients).

CREATE TABLE users (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    telegram_id BIGINT NOT NULL UNIQUE,
    username TEXT,
    first_name TEXT,
    last_name TEXT,
    created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP
);
INSERT INTO sqlite_sequence (name, seq) SELECT 'users', seq FROM sqlite_sequence WHERE name = 'legacy_users';

CREATE TABLE user_roles (
    telegram_id BIGINT NOT NULL REFERENCES users(telegram_id) ON DELETE CASCADE,
    role TEXT NOT NULL CHECK (role IN ('ADMIN', 'DISPATCHER', 'MASTER')),
    granted_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
    PRIMARY KEY (telegram_id, role)
);

CREATE TABLE masters (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    telegram_id BIGINT NOT NULL UNIQUE REFERENCES users(telegram_id),
    phone TEXT NOT NULL,
    specialization TEXT NOT NULL,
    is_active BOOLEAN NOT NULL DEFAULT 1,
    is_approved BOOLEAN NOT NULL DEFAULT 0,
    work_chat_id BIGINT,
    created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP
);
INSERT INTO sqlite_sequence (name, seq) SELECT 'masters', seq FROM sqlite_sequence WHERE name = 'legacy_masters';

CREATE TABLE orders (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    equipment_type TEXT NOT NULL,
    description TEXT NOT NULL,
    client_name TEXT NOT NULL,
    client_address TEXT NOT NULL,
    client_phone TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'NEW'
        CHECK (status IN ('NEW', 'ASSIGNED', 'ACCEPTED', 'ONSITE', 'DR', 'CLOSED', 'REFUSED')),
    assigned_master_id BIGINT REFERENCES masters(id),
    dispatcher_id BIGINT REFERENCES users(telegram_id),
    notes TEXT,
    scheduled_time TEXT,
    total_kopecks BIGINT,
    materials_kopecks BIGINT,
    master_share_kopecks BIGINT,
    company_share_kopecks BIGINT,
    has_review BOOLEAN NOT NULL DEFAULT 0,
    created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
    -- when the order entered its current status: the clock of reminders and SLA alerts
    status_changed_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP
);
INSERT INTO sqlite_sequence (name, seq) SELECT 'orders', seq FROM sqlite_sequence WHERE name = 'legacy_orders';

CREATE TABLE order_status_history (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    order_id BIGINT NOT NULL REFERENCES orders(id),
    old_status TEXT,
    new_status TEXT NOT NULL,
    changed_by BIGINT REFERENCES users(telegram_id),
    changed_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
    notes TEXT
);
INSERT INTO sqlite_sequence (name, seq)
    SELECT 'order_status_history', seq FROM sqlite_sequence WHERE name = 'legacy_order_status_history';

CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    user_id BIGINT REFERENCES users(telegram_id),
    action TEXT NOT NULL,
    entity_type TEXT,
    entity_id BIGINT,
    details TEXT,
    created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP
);
INSERT INTO sqlite_sequence (name, seq) SELECT 'audit_log', seq FROM sqlite_sequence WHERE name = 'legacy_audit_log';

CREATE TABLE adoption_orphans (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    table_name TEXT NOT NULL,
    row_id BIGINT NOT NULL,
    column_name TEXT NOT NULL,
    missing_value BIGINT NOT NULL,
    row_data TEXT,
    recorded_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP
);

INSERT INTO users (id, telegram_id, username, first_name, last_name, created_at, updated_at)
SELECT id, telegram_id, username, first_name, last_name,
       COALESCE(created_at, CURRENT_TIMESTAMP), COALESCE(created_at, CURRENT_TIMESTAMP)
FROM legacy_users
ORDER BY id;

INSERT INTO users (telegram_id)
SELECT ref FROM (
    SELECT telegram_id AS ref FROM legacy_masters
    UNION SELECT dispatcher_id FROM legacy_orders
    UNION SELECT user_id FROM legacy_audit_log
    UNION SELECT changed_by FROM legacy_order_status_history
)
WHERE ref IS NOT NULL AND ref NOT IN (SELECT telegram_id FROM users)
ORDER BY ref;

-- 'DISPATCHER,MASTER', ' admin ', 'UNKNOWN' and NULL all parse: tokens are compared upper-cased
-- without blanks; anything outside the three roles grants nothing.
INSERT INTO user_roles (telegram_id, role, granted_at)
SELECT u.telegram_id, r.role, COALESCE(u.created_at, CURRENT_TIMESTAMP)
FROM legacy_users AS u
JOIN (SELECT 'ADMIN' AS role UNION ALL SELECT 'DISPATCHER' UNION ALL SELECT 'MASTER') AS r
  ON instr(',' || replace(upper(COALESCE(u.role, '')), ' ', '') || ',', ',' || r.role || ',') > 0
ORDER BY u.id, r.role;

INSERT INTO masters (id, telegram_id, phone, specialization, is_active, is_approved, work_chat_id,
                     created_at, updated_at)
SELECT id, telegram_id, phone, specialization,
       COALESCE(is_active, 1) <> 0, COALESCE(is_approved, 0) <> 0, work_chat_id,
       COALESCE(created_at, CURRENT_TIMESTAMP), COALESCE(created_at, CURRENT_TIMESTAMP)
FROM legacy_masters
ORDER BY id;

INSERT INTO adoption_orphans (table_name, row_id, column_name, missing_value)
SELECT 'orders', id, 'assigned_master_id', assigned_master_id
FROM legacy_orders
WHERE assigned_master_id IS NOT NULL AND assigned_master_id NOT IN (SELECT id FROM masters)
ORDER BY id;

INSERT INTO orders (id, equipment_type, description, client_name, client_address, client_phone,
                    status, assigned_master_id, dispatcher_id, notes, scheduled_time,
                    total_kopecks, materials_kopecks, master_share_kopecks, company_share_kopecks,
                    has_review, created_at, updated_at, status_changed_at)
SELECT id, equipment_type, description, client_name, client_address, client_phone,
       COALESCE(NULLIF(upper(trim(status)), ''), 'NEW'),
       CASE WHEN assigned_master_id IN (SELECT id FROM masters) THEN assigned_master_id END,
       dispatcher_id, notes, scheduled_time,
       CAST(round(total_amount * 100) AS INTEGER),
       CAST(round(materials_cost * 100) AS INTEGER),
       CAST(round(master_profit * 100) AS INTEGER),
       CAST(round(company_profit * 100) AS INTEGER),
       COALESCE(has_review, 0) <> 0,
       COALESCE(created_at, updated_at, CURRENT_TIMESTAMP),
       COALESCE(updated_at, created_at, CURRENT_TIMESTAMP),
       COALESCE(updated_at, created_at, CURRENT_TIMESTAMP)
FROM legacy_orders
ORDER BY id;

INSERT INTO adoption_orphans (table_name, row_id, column_name, missing_value, row_data)
SELECT 'order_status_history', id, 'order_id', order_id,
       json_object('id', id, 'order_id', order_id, 'old_status', old_status,
                   'new_status', new_status, 'changed_by', changed_by,
                   'changed_at', changed_at, 'notes', notes)
FROM legacy_order_status_history
WHERE order_id NOT IN (SELECT id FROM orders)
ORDER BY id;

INSERT INTO order_status_history (id, order_id, old_status, new_status, changed_by, changed_at, notes)
SELECT id, order_id, old_status, new_status, changed_by, COALESCE(changed_at, CURRENT_TIMESTAMP), notes
FROM legacy_order_status_history
WHERE order_id IN (SELECT id FROM orders)
ORDER BY id;

INSERT INTO audit_log (id, user_id, action, details, created_at)
SELECT id, user_id, action, details, COALESCE(timestamp, CURRENT_TIMESTAMP)
FROM legacy_audit_log
ORDER BY id;

-- Children first: with foreign keys on, no drop ever sees a referencing row.
DROP TABLE legacy_order_status_history;
DROP TABLE legacy_audit_log;
DROP TABLE legacy_orders;
DROP TABLE legacy_masters;
DROP TABLE legacy_users;

CREATE INDEX idx_user_roles_role ON user_roles(role);
CREATE INDEX idx_masters_is_active ON masters(is_active, is_approved);
CREATE INDEX idx_orders_status ON orders(status, status_changed_at);
CREATE INDEX idx_orders_assigned_master_id ON orders(assigned_master_id);
CREATE INDEX idx_orders_dispatcher_id ON orders(dispatcher_id);
CREATE INDEX idx_order_status_history_order_id ON order_status_history(order_id);
CREATE INDEX idx_audit_log_user_id ON audit_log(user_id);
CREATE INDEX idx_audit_log_entity ON audit_log(entity_type, entity_id);
