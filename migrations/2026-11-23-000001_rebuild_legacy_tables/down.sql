-- repair-bot: table rebuild (run with foreign keys off, then PRAGMA foreign_key_check)
-- Back to the legacy tables exactly as legacy steps 1-5 leave them (ALTER-appended columns
-- included, so the stored CREATE statements match too). Rows come back: roles as
-- comma-separated text ('UNKNOWN' for none), kopecks as REAL rubles, and what adoption set
-- aside in adoption_orphans returns to where it was. alembic_version is not recreated: our
-- chain never had it.

ALTER TABLE order_status_history RENAME TO rebuilt_order_status_history;
ALTER TABLE audit_log RENAME TO rebuilt_audit_log;
ALTER TABLE orders RENAME TO rebuilt_orders;
ALTER TABLE masters RENAME TO rebuilt_masters;
ALTER TABLE users RENAME TO rebuilt_users;

CREATE TABLE users (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    telegram_id INTEGER UNIQUE NOT NULL,
    username TEXT,
    first_name TEXT,
    last_name TEXT,
    role TEXT DEFAULT 'UNKNOWN',
    created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP
);
INSERT INTO sqlite_sequence (name, seq) SELECT 'users', seq FROM sqlite_sequence WHERE name = 'rebuilt_users';

CREATE TABLE masters (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    telegram_id INTEGER UNIQUE NOT NULL,
    phone TEXT NOT NULL,
    specialization TEXT NOT NULL,
    is_active BOOLEAN DEFAULT 1,
    is_approved BOOLEAN DEFAULT 0,
    created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    FOREIGN KEY (telegram_id) REFERENCES users(telegram_id)
);
ALTER TABLE masters ADD COLUMN work_chat_id INTEGER;
INSERT INTO sqlite_sequence (name, seq) SELECT 'masters', seq FROM sqlite_sequence WHERE name = 'rebuilt_masters';

CREATE TABLE orders (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    equipment_type TEXT NOT NULL,
    description TEXT NOT NULL,
    client_name TEXT NOT NULL,
    client_address TEXT NOT NULL,
    client_phone TEXT NOT NULL,
    status TEXT DEFAULT 'NEW',
    assigned_master_id INTEGER,
    dispatcher_id INTEGER,
    notes TEXT,
    created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    updated_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    FOREIGN KEY (assigned_master_id) REFERENCES masters(id),
    FOREIGN KEY (dispatcher_id) REFERENCES users(telegram_id)
);
ALTER TABLE orders ADD COLUMN total_amount REAL;
ALTER TABLE orders ADD COLUMN materials_cost REAL;
ALTER TABLE orders ADD COLUMN master_profit REAL;
ALTER TABLE orders ADD COLUMN company_profit REAL;
ALTER TABLE orders ADD COLUMN has_review INTEGER DEFAULT 0;
ALTER TABLE orders ADD COLUMN scheduled_time TEXT;
INSERT INTO sqlite_sequence (name, seq) SELECT 'orders', seq FROM sqlite_sequence WHERE name = 'rebuilt_orders';

CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id INTEGER,
    action TEXT NOT NULL,
    details TEXT,
    timestamp TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    FOREIGN KEY (user_id) REFERENCES users(telegram_id)
);
INSERT INTO sqlite_sequence (name, seq) SELECT 'audit_log', seq FROM sqlite_sequence WHERE name = 'rebuilt_audit_log';

CREATE TABLE order_status_history (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    order_id INTEGER NOT NULL,
    old_status TEXT,
    new_status TEXT NOT NULL,
    changed_by INTEGER,
    changed_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    notes TEXT,
    FOREIGN KEY (order_id) REFERENCES orders(id),
    FOREIGN KEY (changed_by) REFERENCES users(telegram_id)
);
INSERT INTO sqlite_sequence (name, seq)
    SELECT 'order_status_history', seq FROM sqlite_sequence WHERE name = 'rebuilt_order_status_history';

INSERT INTO users (id, telegram_id, username, first_name, last_name, role, created_at)
SELECT u.id, u.telegram_id, u.username, u.first_name, u.last_name,
       COALESCE((SELECT group_concat(r.role, ',')
                 FROM (SELECT role FROM user_roles WHERE telegram_id = u.telegram_id ORDER BY role) AS r),
                'UNKNOWN'),
       u.created_at
FROM rebuilt_users AS u
ORDER BY u.id;

INSERT INTO masters (id, telegram_id, phone, specialization, is_active, is_approved, work_chat_id, created_at)
SELECT id, telegram_id, phone, specialization, is_active, is_approved, work_chat_id, created_at
FROM rebuilt_masters
ORDER BY id;

INSERT INTO orders (id, equipment_type, description, client_name, client_address, client_phone,
                    status, assigned_master_id, dispatcher_id, notes, created_at, updated_at,
                    total_amount, materials_cost, master_profit, company_profit, has_review,
                    scheduled_time)
SELECT o.id, o.equipment_type, o.description, o.client_name, o.client_address, o.client_phone,
       o.status,
       COALESCE(o.assigned_master_id,
                (SELECT a.missing_value FROM adoption_orphans AS a
                 WHERE a.table_name = 'orders' AND a.column_name = 'assigned_master_id'
                   AND a.row_id = o.id)),
       o.dispatcher_id, o.notes, o.created_at, o.updated_at,
       o.total_kopecks / 100.0, o.materials_kopecks / 100.0,
       o.master_share_kopecks / 100.0, o.company_share_kopecks / 100.0,
       o.has_review, o.scheduled_time
FROM rebuilt_orders AS o
ORDER BY o.id;

INSERT INTO order_status_history (id, order_id, old_status, new_status, changed_by, changed_at, notes)
SELECT id, order_id, old_status, new_status, changed_by, changed_at, notes
FROM (
    SELECT id, order_id, old_status, new_status, changed_by, changed_at, notes
    FROM rebuilt_order_status_history
    UNION ALL
    SELECT json_extract(row_data, '$.id'), json_extract(row_data, '$.order_id'),
           json_extract(row_data, '$.old_status'), json_extract(row_data, '$.new_status'),
           json_extract(row_data, '$.changed_by'), json_extract(row_data, '$.changed_at'),
           json_extract(row_data, '$.notes')
    FROM adoption_orphans
    WHERE table_name = 'order_status_history'
)
ORDER BY id;

INSERT INTO audit_log (id, user_id, action, details, timestamp)
SELECT id, user_id, action, details, created_at
FROM rebuilt_audit_log
ORDER BY id;

DROP TABLE adoption_orphans;
DROP TABLE rebuilt_order_status_history;
DROP TABLE rebuilt_audit_log;
DROP TABLE rebuilt_orders;
DROP TABLE user_roles;
DROP TABLE rebuilt_masters;
DROP TABLE rebuilt_users;

CREATE INDEX idx_users_telegram_id ON users(telegram_id);
CREATE INDEX idx_users_role ON users(role);
CREATE INDEX idx_masters_telegram_id ON masters(telegram_id);
CREATE INDEX idx_masters_is_approved ON masters(is_approved);
CREATE INDEX idx_orders_status ON orders(status);
CREATE INDEX idx_orders_assigned_master_id ON orders(assigned_master_id);
CREATE INDEX idx_orders_dispatcher_id ON orders(dispatcher_id);
CREATE INDEX idx_audit_user_id ON audit_log(user_id);
