-- Search and lists of orders (SPEC 2.6) that stay fast on a million orders.

-- Status lists, newest first, paged by id (keyset: status = ? AND id < ? ORDER BY id DESC).
-- idx_orders_status (status, status_changed_at) cannot give id order within a status.
CREATE INDEX idx_orders_status_id ON orders(status, id);

-- Search by the client's phone (stored normalised, "+7XXXXXXXXXX"), newest first.
CREATE INDEX idx_orders_client_phone ON orders(client_phone);

-- Reports and the daily summary read the orders created in a period.
CREATE INDEX idx_orders_created_at ON orders(created_at);

-- Search by a fragment of the address, in any letter case, Cyrillic included: LOWER() and
-- LIKE fold ASCII only, FTS5's trigram tokenizer folds all of Unicode. The index holds each
-- address with "ё" written as "е" (people type either; searches fold the same way), keyed by
-- the order id. It is contentless (content=''): it stores no text of its own and does not
-- name orders, so nothing here depends on how orders is built. The triggers keep it in step.
-- To rebuild it by hand: INSERT INTO order_search (order_search) VALUES ('delete-all'); then
-- the INSERT ... SELECT at the end of this file.
CREATE VIRTUAL TABLE order_search USING fts5(
    client_address,
    content = '',
    tokenize = 'trigram'
);

CREATE TRIGGER order_search_after_insert AFTER INSERT ON orders BEGIN
    INSERT INTO order_search (rowid, client_address)
    VALUES (new.id, replace(replace(new.client_address, 'ё', 'е'), 'Ё', 'Е'));
END;

-- A contentless index forgets a row given the text it indexed, folded the same way.
CREATE TRIGGER order_search_after_delete AFTER DELETE ON orders BEGIN
    INSERT INTO order_search (order_search, rowid, client_address)
    VALUES ('delete', old.id, replace(replace(old.client_address, 'ё', 'е'), 'Ё', 'Е'));
END;

-- Only when the address (or the id) changes: status changes do not touch the index.
CREATE TRIGGER order_search_after_update AFTER UPDATE OF id, client_address ON orders BEGIN
    INSERT INTO order_search (order_search, rowid, client_address)
    VALUES ('delete', old.id, replace(replace(old.client_address, 'ё', 'е'), 'Ё', 'Е'));
    INSERT INTO order_search (rowid, client_address)
    VALUES (new.id, replace(replace(new.client_address, 'ё', 'е'), 'Ё', 'Е'));
END;

-- The orders already there.
INSERT INTO order_search (rowid, client_address)
SELECT id, replace(replace(client_address, 'ё', 'е'), 'Ё', 'Е') FROM orders ORDER BY id;
