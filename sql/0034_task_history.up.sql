-- A task's history (contract 2.8.0): every version of every task as it became current, with the
-- kind of change that made it and the fields it changed, and its deletion; kept for the history
-- retention, and gone with the task when it leaves the trash for good. Written by triggers, so
-- that every statement that writes a task (an edit, a batch, a move, a change of the user's
-- zone, a restore) records it, present or future. The versions of one task are read by its key,
-- a user's activity newest first by `task_history_activity`, the expired by `task_history_by_age`.
SET LOCAL lock_timeout = '5s';

CREATE TABLE task_history (
    user_id      text          NOT NULL,
    task_id      bigint        NOT NULL,
    version      bigint        NOT NULL,
    -- 1 for a deletion, which holds the version it deleted, after the entry that made it.
    deleted      smallint      NOT NULL,
    change       text          NOT NULL,
    changed      text[]        NOT NULL,
    recorded_at  timestamptz   NOT NULL DEFAULT clock_timestamp(),
    title        text          NOT NULL,
    description  text,
    completed    boolean       NOT NULL,
    created_at   timestamptz   NOT NULL,
    updated_at   timestamptz   NOT NULL,
    priority     task_priority NOT NULL,
    tags         text[]        NOT NULL,
    due_at       timestamptz,
    completed_at timestamptz,
    list_id      bigint        NOT NULL,
    position     text COLLATE "C" NOT NULL,
    parent_id    bigint,
    due          jsonb,
    overdue_at   timestamptz,
    recurrence   jsonb,
    reminders    jsonb         NOT NULL,
    CONSTRAINT task_history_pkey PRIMARY KEY (user_id, task_id, version, deleted),
    CONSTRAINT task_history_change CHECK (change IN (
        'created', 'edited', 'completed', 'skipped', 'reopened', 'moved', 'deleted', 'restored'))
);
CREATE INDEX task_history_activity
    ON task_history (user_id, recorded_at, task_id, version, deleted);
CREATE INDEX task_history_by_age ON task_history (recorded_at);

-- What a write changed, by the contract's field names, and so what kind of change it was. A
-- writer whose columns cannot tell it (a recurring task's occurrence, completed or skipped,
-- moves its due date) names it in `taskapi.change` for its next write of a task.
CREATE FUNCTION task_history_record() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
    DECLARE
        task tasks;
        kind text;
        fields text[] := '{}';
        named text := nullif(current_setting('taskapi.change', true), '');
    BEGIN
        IF TG_OP = 'DELETE' THEN
            task := OLD;
            kind := 'deleted';
        ELSIF TG_OP = 'INSERT' THEN
            task := NEW;
            kind := CASE WHEN NEW.version > 1 THEN 'restored' ELSE 'created' END;
        ELSE
            task := NEW;
            IF NEW.title IS DISTINCT FROM OLD.title THEN fields := array_append(fields, 'title'); END IF;
            IF NEW.description IS DISTINCT FROM OLD.description THEN
                fields := array_append(fields, 'description');
            END IF;
            IF NEW.priority IS DISTINCT FROM OLD.priority THEN fields := array_append(fields, 'priority'); END IF;
            IF NEW.tags IS DISTINCT FROM OLD.tags THEN fields := array_append(fields, 'tags'); END IF;
            IF NEW.due IS DISTINCT FROM OLD.due OR NEW.due_at IS DISTINCT FROM OLD.due_at THEN
                fields := array_append(fields, 'due');
            END IF;
            IF NEW.recurrence IS DISTINCT FROM OLD.recurrence THEN
                fields := array_append(fields, 'recurrence');
            END IF;
            IF NEW.reminders IS DISTINCT FROM OLD.reminders THEN
                fields := array_append(fields, 'reminders');
            END IF;
            IF NEW.completed IS DISTINCT FROM OLD.completed THEN
                fields := array_append(fields, 'completed');
            END IF;
            IF NEW.list_id IS DISTINCT FROM OLD.list_id THEN fields := array_append(fields, 'list_id'); END IF;
            IF NEW.parent_id IS DISTINCT FROM OLD.parent_id THEN
                fields := array_append(fields, 'parent_id');
            END IF;
            IF NEW.position IS DISTINCT FROM OLD.position THEN fields := array_append(fields, 'position'); END IF;
            IF named IS NOT NULL THEN
                PERFORM set_config('taskapi.change', '', true);
            END IF;
            kind := CASE
                WHEN named IS NOT NULL THEN named
                WHEN NEW.completed AND NOT OLD.completed THEN 'completed'
                WHEN OLD.completed AND NOT NEW.completed THEN 'reopened'
                WHEN fields <@ ARRAY['list_id', 'parent_id', 'position'] THEN 'moved'
                ELSE 'edited' END;
        END IF;
        INSERT INTO task_history (
            user_id, task_id, version, deleted, change, changed, title, description, completed, created_at,
            updated_at, priority, tags, due_at, completed_at, list_id, position, parent_id, due,
            overdue_at, recurrence, reminders)
        VALUES (
            task.user_id, task.id, task.version, (TG_OP = 'DELETE')::int, kind, fields, task.title, task.description,
            task.completed, task.created_at, task.updated_at, task.priority, task.tags,
            task.due_at, task.completed_at, task.list_id, task.position, task.parent_id, task.due,
            task.overdue_at, task.recurrence, task.reminders)
        -- A write that makes no new version (none of the service's) is recorded once.
        ON CONFLICT DO NOTHING;
        RETURN NULL;
    END
    $$;
CREATE TRIGGER task_history_record AFTER INSERT OR UPDATE OR DELETE ON tasks
    FOR EACH ROW EXECUTE FUNCTION task_history_record();
