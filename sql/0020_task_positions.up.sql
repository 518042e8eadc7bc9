-- The manual order of tasks (contract 2.3.0, `sort=manual`): each task has a position key
-- within its list (impl/positions.py, ADR 0014). Four steps, as for the lists (0016-0019):
-- this one adds the column (only the catalog changes), the function that makes the key after
-- another, and triggers that put a task written without a position, or moved to another list
-- without one, last in its list, whichever release writes it; 0021 gives the tasks stored
-- before a position each; 0022 indexes the order; 0023 makes the position required.
SET LOCAL lock_timeout = '5s';

-- The key right after `before` (the first key, 'a0', after none): impl.positions.key_between
-- (before, None), in SQL so that a write can take its place in one statement. The integer part
-- (its first character gives its length) goes one up; the fraction is dropped.
CREATE FUNCTION position_after(before text) RETURNS text
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
    AS $$
        DECLARE
            digits constant text :=
                '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
            head text;
            body text;
            value integer;
        BEGIN
            IF before IS NULL THEN
                RETURN 'a0';
            END IF;
            head := left(before, 1);
            IF ascii(head) >= ascii('a') THEN
                body := substr(before, 2, ascii(head) - ascii('a') + 1);
            ELSE
                body := substr(before, 2, ascii('Z') - ascii(head) + 1);
            END IF;
            FOR place IN REVERSE length(body)..1 LOOP
                value := strpos(digits, substr(body, place, 1));
                IF value < 62 THEN
                    RETURN head || left(body, place - 1) || substr(digits, value + 1, 1)
                        || repeat('0', length(body) - place);
                END IF;
            END LOOP;
            -- Every digit carried: the next integer is one character longer (or shorter).
            IF head = 'Z' THEN
                RETURN 'a0';
            ELSIF head = 'z' THEN
                RAISE EXCEPTION 'no position key after %', before;
            ELSIF ascii(head) >= ascii('a') THEN
                RETURN chr(ascii(head) + 1) || repeat('0', length(body) + 1);
            END IF;
            RETURN chr(ascii(head) + 1) || repeat('0', length(body) - 1);
        END
    $$;
COMMENT ON FUNCTION position_after(text) IS
    'The position key right after another (''a0'' after none): impl.positions.key_between(k, None).';

ALTER TABLE tasks ADD COLUMN position text COLLATE "C";

-- Lists are ordered as tasks are: by position, ties by id. Their positions were unique, which a
-- move that respaces several lists in one statement could not keep row by row; moves and
-- creations of a user's lists come one after another (impl/lists/repository.py), so no two get
-- one place anyway.
DROP INDEX task_lists_user_id_position_idx;
CREATE INDEX task_lists_user_id_position_idx ON task_lists (user_id, position, id);
ALTER TABLE tasks ADD CONSTRAINT tasks_position_not_null CHECK (position IS NOT NULL) NOT VALID;

-- After the Inbox's trigger (triggers of one event fire in the order of their names), which
-- gives the task its list first.
CREATE FUNCTION tasks_last_in_list() RETURNS trigger
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
CREATE TRIGGER tasks_last_in_list_on_insert
    BEFORE INSERT ON tasks
    FOR EACH ROW WHEN (NEW.position IS NULL) EXECUTE FUNCTION tasks_last_in_list();
-- A task put in another list without a place there (PATCH of `list_id`) comes last in it; a
-- move names its place, and this does not fire.
CREATE TRIGGER tasks_last_in_list_on_update
    BEFORE UPDATE OF list_id ON tasks
    FOR EACH ROW
    WHEN (NEW.list_id IS DISTINCT FROM OLD.list_id AND NEW.position IS NOT DISTINCT FROM OLD.position)
    EXECUTE FUNCTION tasks_last_in_list();
