-- no-transaction
CREATE INDEX CONCURRENTLY IF NOT EXISTS tasks_search_words_idx ON tasks USING gin (search_words);
