-- no-transaction
DROP INDEX CONCURRENTLY IF EXISTS tasks_user_id_list_id_created_at_idx;
