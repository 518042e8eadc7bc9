-- no-transaction
DROP INDEX CONCURRENTLY IF EXISTS tasks_search_words_idx;
