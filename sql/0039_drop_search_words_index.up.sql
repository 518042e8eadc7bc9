-- no-transaction
-- The index of every user's words under one key per word, dropped as 0038 drops the tags'.
DROP INDEX CONCURRENTLY IF EXISTS tasks_search_words_idx;
