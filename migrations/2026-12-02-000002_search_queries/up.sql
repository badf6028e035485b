-- Search texts behind the paging buttons of search results (SPEC 2.6). A button's callback
-- data holds at most 64 bytes and a Cyrillic letter takes two, so a button names its search
-- by id and every page searches the full text. One row per distinct text; `used_at` is the
-- last time it was typed or paged, and rows unused for long are deleted.
CREATE TABLE search_queries (
    id INTEGER PRIMARY KEY NOT NULL,
    text TEXT NOT NULL UNIQUE,
    used_at TIMESTAMP NOT NULL
);

CREATE INDEX idx_search_queries_used_at ON search_queries(used_at);
