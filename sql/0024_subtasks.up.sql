-- Subtasks (contract 2.3.0): a task may be under another of its list, four levels at most (the
-- service checks the depth and that no task is under itself). Only the catalog changes: the
-- column is nullable (a task stored before is at the top level), and its key to the parent is
-- checked for the rows written from now on (0026 validates the rest, under a lock that lets
-- reads and writes go on; 0025 indexes a parent's subtasks).
SET LOCAL lock_timeout = '5s';

ALTER TABLE tasks ADD COLUMN parent_id bigint;
ALTER TABLE tasks
    ADD CONSTRAINT tasks_parent_id_fkey FOREIGN KEY (user_id, parent_id)
        REFERENCES tasks (user_id, id) NOT VALID;

-- A task's siblings are the top-level tasks of its list, or its parent's subtasks: a new task
-- comes last among them (0020 counted the whole list).
CREATE OR REPLACE FUNCTION tasks_last_in_list() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
        BEGIN
            IF NEW.parent_id IS NULL THEN
                NEW.position := position_after((
                    SELECT max(position) FROM tasks
                    WHERE user_id = NEW.user_id AND list_id = NEW.list_id AND parent_id IS NULL
                ));
            ELSE
                NEW.position := position_after((
                    SELECT max(position) FROM tasks
                    WHERE user_id = NEW.user_id AND parent_id = NEW.parent_id
                ));
            END IF;
            RETURN NEW;
        END
    $$;
-- A task PATCHed into another list leaves its parent and comes last at the top level there; its
-- subtasks follow it with their places among each other, which this leaves alone.
DROP TRIGGER tasks_last_in_list_on_update ON tasks;
CREATE TRIGGER tasks_last_in_list_on_update
    BEFORE UPDATE OF list_id ON tasks
    FOR EACH ROW
    WHEN (NEW.list_id IS DISTINCT FROM OLD.list_id AND NEW.position IS NOT DISTINCT FROM OLD.position
          AND NEW.parent_id IS NULL)
    EXECUTE FUNCTION tasks_last_in_list();
