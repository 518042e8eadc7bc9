-- no-transaction
CREATE INDEX CONCURRENTLY IF NOT EXISTS tasks_tags_idx ON tasks USING gin (tags);
