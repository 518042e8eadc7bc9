DROP TRIGGER tasks_last_in_list_on_update ON tasks;
CREATE TRIGGER tasks_last_in_list_on_update
    BEFORE UPDATE OF list_id ON tasks
    FOR EACH ROW
    WHEN (NEW.list_id IS DISTINCT FROM OLD.list_id AND NEW.position IS NOT DISTINCT FROM OLD.position)
    EXECUTE FUNCTION tasks_last_in_list();
CREATE OR REPLACE FUNCTION tasks_last_in_list() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
        BEGIN
            NEW.position := position_after((
                SELECT max(position) FROM tasks
                WHERE user_id = NEW.user_id AND list_id = NEW.list_id
            ));
            RETURN NEW;
        END
    $$;
ALTER TABLE tasks DROP COLUMN parent_id;
