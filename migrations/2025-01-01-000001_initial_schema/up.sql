-- Legacy step 1: the tables exactly as the old Python bot first created them
-- (its INTEGER ids and loose NULLs included). Old databases are stamped against this.
CREATE TABLE users (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    telegram_id INTEGER UNIQUE NOT NULL,
    username TEXT,
    first_name TEXT,
    last_name TEXT,
    role TEXT DEFAULT 'UNKNOWN',
    created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP
);
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
CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id INTEGER,
    action TEXT NOT NULL,
    details TEXT,
    timestamp TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    FOREIGN KEY (user_id) REFERENCES users(telegram_id)
);
CREATE INDEX idx_users_telegram_id ON users(telegram_id);
CREATE INDEX idx_users_role ON users(role);
CREATE INDEX idx_masters_telegram_id ON masters(telegram_id);
CREATE INDEX idx_masters_is_approved ON masters(is_approved);
CREATE INDEX idx_orders_status ON orders(status);
CREATE INDEX idx_orders_assigned_master_id ON orders(assigned_master_id);
CREATE INDEX idx_orders_dispatcher_id ON orders(dispatcher_id);
CREATE INDEX idx_audit_user_id ON audit_log(user_id);
