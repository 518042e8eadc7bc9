DROP INDEX tasks_search_idx;
ALTER TABLE tasks DROP COLUMN search;
DROP INDEX tasks_tags_idx;
DROP INDEX tasks_user_id_due_at_desc_idx;
DROP INDEX tasks_user_id_due_at_asc_idx;
DROP INDEX tasks_user_id_title_idx;
DROP INDEX tasks_user_id_priority_idx;
DROP INDEX tasks_user_id_updated_at_idx;
