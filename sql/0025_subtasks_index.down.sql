-- no-transaction
DROP INDEX CONCURRENTLY IF EXISTS tasks_user_id_parent_id_position_idx;
