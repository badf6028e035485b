-- Legacy step 3: money of a closed order, in rubles as the old bot kept them (REAL).
ALTER TABLE orders ADD COLUMN total_amount REAL;
ALTER TABLE orders ADD COLUMN materials_cost REAL;
ALTER TABLE orders ADD COLUMN master_profit REAL;
ALTER TABLE orders ADD COLUMN company_profit REAL;
ALTER TABLE orders ADD COLUMN has_review INTEGER DEFAULT 0;
