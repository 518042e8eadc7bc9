-- The trash (contract 2.8.0): a deleted task or list is moved out of `tasks` and `task_lists`
-- into tables of their own, so that no query of the live data reads it or needs a condition to
-- skip it, and comes back from them with its id when restored. `trash` holds one row per item a
-- user can restore (a task deleted on its own, a list); `trashed_tasks` every task deleted, each
-- with the item it comes back with (itself, the task whose deletion took it, or its list). The
-- retention job purges items by age (`trash_by_age`). A task's occurrences are kept while the
-- task is in the trash, so they lose their key to `tasks` and are deleted with the item.
SET LOCAL lock_timeout = '5s';

CREATE TABLE trash (
    user_id    text        NOT NULL,
    kind       text        NOT NULL,
    item_id    bigint      NOT NULL,
    version    bigint      NOT NULL,
    task_count integer     NOT NULL,
    trashed_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    CONSTRAINT trash_pkey PRIMARY KEY (user_id, kind, item_id),
    CONSTRAINT trash_kind CHECK (kind IN ('task', 'list'))
);
-- A user's trash, newest first (read backwards); and every user's, oldest first, for purging.
CREATE INDEX trash_newest ON trash (user_id, trashed_at, kind, item_id);
CREATE INDEX trash_by_age ON trash (trashed_at);

-- The columns of `tasks` a restore writes back (not those derived: search, search_words,
-- changed_xid), and the item the task comes back with.
CREATE TABLE trashed_tasks (
    user_id       text          NOT NULL,
    id            bigint        NOT NULL,
    trash_kind    text          NOT NULL,
    trash_item_id bigint        NOT NULL,
    title         text          NOT NULL,
    description   text,
    completed     boolean       NOT NULL,
    created_at    timestamptz   NOT NULL,
    updated_at    timestamptz   NOT NULL,
    priority      task_priority NOT NULL,
    tags          text[]        NOT NULL,
    due_at        timestamptz,
    completed_at  timestamptz,
    version       bigint        NOT NULL,
    list_id       bigint        NOT NULL,
    position      text COLLATE "C" NOT NULL,
    parent_id     bigint,
    due           jsonb,
    overdue_at    timestamptz,
    recurrence    jsonb,
    reminders     jsonb         NOT NULL,
    CONSTRAINT trashed_tasks_pkey PRIMARY KEY (user_id, id)
);
CREATE INDEX trashed_tasks_by_item ON trashed_tasks (user_id, trash_kind, trash_item_id);

CREATE TABLE trashed_lists (
    user_id    text        NOT NULL,
    id         bigint      NOT NULL,
    name       text        NOT NULL,
    color      text,
    position   text COLLATE "C" NOT NULL,
    archived   boolean     NOT NULL,
    version    bigint      NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    CONSTRAINT trashed_lists_pkey PRIMARY KEY (user_id, id)
);

ALTER TABLE task_occurrences DROP CONSTRAINT task_occurrences_task_fkey;

-- A new task or list never takes the id of one in the trash, which it keeps when restored: the
-- draw fails on the key as for an id the user holds (impl/db/ids.py draws again). A restore
-- deletes the item from `trash` in a statement before the one that inserts, so it passes.
CREATE FUNCTION tasks_id_not_trashed() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
    BEGIN
        IF EXISTS (
            SELECT FROM trashed_tasks AS t
            JOIN trash AS item ON item.user_id = t.user_id AND item.kind = t.trash_kind
                AND item.item_id = t.trash_item_id
            WHERE t.user_id = NEW.user_id AND t.id = NEW.id
        ) THEN
            RAISE EXCEPTION 'task id % is in the trash', NEW.id
                USING ERRCODE = 'unique_violation', CONSTRAINT = 'tasks_pkey';
        END IF;
        RETURN NEW;
    END
    $$;
CREATE TRIGGER tasks_id_not_trashed BEFORE INSERT ON tasks
    FOR EACH ROW EXECUTE FUNCTION tasks_id_not_trashed();

CREATE FUNCTION task_lists_id_not_trashed() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
    BEGIN
        IF EXISTS (
            SELECT FROM trash
            WHERE user_id = NEW.user_id AND kind = 'list' AND item_id = NEW.id
        ) THEN
            RAISE EXCEPTION 'list id % is in the trash', NEW.id
                USING ERRCODE = 'unique_violation', CONSTRAINT = 'task_lists_pkey';
        END IF;
        RETURN NEW;
    END
    $$;
CREATE TRIGGER task_lists_id_not_trashed BEFORE INSERT ON task_lists
    FOR EACH ROW EXECUTE FUNCTION task_lists_id_not_trashed();
