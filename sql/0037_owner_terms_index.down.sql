-- no-transaction
DROP INDEX CONCURRENTLY IF EXISTS tasks_owner_terms_idx;
