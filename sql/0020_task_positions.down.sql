DROP TRIGGER tasks_last_in_list_on_update ON tasks;
DROP TRIGGER tasks_last_in_list_on_insert ON tasks;
DROP FUNCTION tasks_last_in_list();
ALTER TABLE tasks DROP COLUMN position;
DROP INDEX task_lists_user_id_position_idx;
CREATE UNIQUE INDEX task_lists_user_id_position_idx ON task_lists (user_id, position);
DROP FUNCTION position_after(text);
