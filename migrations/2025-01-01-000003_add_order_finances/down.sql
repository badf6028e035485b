ALTER TABLE orders DROP COLUMN has_review;
ALTER TABLE orders DROP COLUMN company_profit;
ALTER TABLE orders DROP COLUMN master_profit;
ALTER TABLE orders DROP COLUMN materials_cost;
ALTER TABLE orders DROP COLUMN total_amount;
