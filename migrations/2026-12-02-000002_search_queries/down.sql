DROP INDEX idx_search_queries_used_at;
DROP TABLE search_queries;
