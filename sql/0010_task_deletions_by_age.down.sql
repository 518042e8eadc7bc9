-- no-transaction
DROP INDEX CONCURRENTLY IF EXISTS task_deletions_deleted_at_idx;
