-- Reminders (contract 2.7.0): a task's `reminders`, as the contract's `Reminder` each (`at` or
-- `minutes_before`, and `fires_at`), and an index of the fire times of open tasks for the
-- due-reminders query. Fire times are the database's to keep: a trigger computes them from the
-- reminders and `due_at` on every write that sets either, whichever statement makes it (an
-- edit, a batch, a change of the user's zone, a recurring task's next occurrence), and another
-- keeps `task_reminders` in step with them and with completion. A task without reminders
-- passes both triggers' WHEN and costs nothing more. Every row stored before has none.
SET LOCAL lock_timeout = '5s';

ALTER TABLE tasks ADD COLUMN reminders jsonb NOT NULL DEFAULT '[]';
ALTER TABLE tasks
    ADD CONSTRAINT tasks_reminders_capped
        CHECK (jsonb_typeof(reminders) = 'array' AND jsonb_array_length(reminders) <= 10)
        NOT VALID;

-- An instant as the service writes one in JSON (impl/json.py): UTC, `Z`, the microseconds only
-- when there are some.
CREATE FUNCTION api_instant(instant timestamptz) RETURNS text
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$
        SELECT to_char(instant AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS')
            || CASE WHEN extract(microseconds FROM instant)::bigint % 1000000 = 0 THEN ''
                    ELSE to_char(instant AT TIME ZONE 'UTC', '.US') END
            || 'Z'
    $$;

-- When a reminder fires: its `at`, or `minutes_before` before the due instant (none without one).
CREATE FUNCTION reminder_fires_at(reminder jsonb, due_at timestamptz) RETURNS timestamptz
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$
        SELECT CASE WHEN reminder ->> 'at' IS NOT NULL THEN (reminder ->> 'at')::timestamptz
                    ELSE due_at - make_interval(mins => (reminder ->> 'minutes_before')::int) END
    $$;

-- The reminders without their fire times: what a write compares to tell whether they changed.
CREATE FUNCTION reminder_rules(reminders jsonb) RETURNS jsonb
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$
        SELECT coalesce(jsonb_agg(reminder - 'fires_at' ORDER BY n), '[]')
        FROM jsonb_array_elements(reminders) WITH ORDINALITY AS given (reminder, n)
    $$;

CREATE FUNCTION tasks_reminders_fire() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
        BEGIN
            NEW.reminders := (
                SELECT jsonb_agg(
                    jsonb_build_object(
                        'at', reminder -> 'at',
                        'minutes_before', reminder -> 'minutes_before',
                        'fires_at', api_instant(reminder_fires_at(reminder, NEW.due_at)))
                    ORDER BY n)
                FROM jsonb_array_elements(NEW.reminders) WITH ORDINALITY AS given (reminder, n));
            RETURN NEW;
        END
    $$;

CREATE TRIGGER tasks_reminders_fire
    BEFORE INSERT OR UPDATE OF reminders, due_at ON tasks
    FOR EACH ROW WHEN (NEW.reminders <> '[]') EXECUTE FUNCTION tasks_reminders_fire();

-- The fire times of open tasks' reminders, by user and time (the due-reminders query), and by
-- task (to be replaced with its reminders, and gone with it).
CREATE TABLE task_reminders (
    user_id  text        NOT NULL,
    task_id  bigint      NOT NULL,
    ordinal  smallint    NOT NULL,
    fires_at timestamptz NOT NULL,
    CONSTRAINT task_reminders_pkey PRIMARY KEY (user_id, task_id, ordinal),
    CONSTRAINT task_reminders_task_fkey FOREIGN KEY (user_id, task_id)
        REFERENCES tasks (user_id, id) ON DELETE CASCADE
);
CREATE INDEX task_reminders_firing ON task_reminders (user_id, fires_at, task_id, ordinal);

CREATE FUNCTION task_reminders_follow() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
        BEGIN
            IF TG_OP = 'UPDATE' THEN
                DELETE FROM task_reminders WHERE user_id = OLD.user_id AND task_id = OLD.id;
            END IF;
            IF NOT NEW.completed THEN
                INSERT INTO task_reminders (user_id, task_id, ordinal, fires_at)
                SELECT NEW.user_id, NEW.id, n - 1, (reminder ->> 'fires_at')::timestamptz
                FROM jsonb_array_elements(NEW.reminders) WITH ORDINALITY AS given (reminder, n)
                WHERE reminder ->> 'fires_at' IS NOT NULL;
            END IF;
            RETURN NULL;
        END
    $$;

CREATE TRIGGER task_reminders_follow_insert
    AFTER INSERT ON tasks
    FOR EACH ROW WHEN (NEW.reminders <> '[]') EXECUTE FUNCTION task_reminders_follow();
CREATE TRIGGER task_reminders_follow_update
    AFTER UPDATE OF reminders, due_at, completed ON tasks
    FOR EACH ROW WHEN (OLD.reminders <> '[]' OR NEW.reminders <> '[]')
    EXECUTE FUNCTION task_reminders_follow();
