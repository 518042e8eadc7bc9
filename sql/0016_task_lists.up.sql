-- Task lists (contract 2.3.0): every task is in one of its owner's lists, the Inbox unless it
-- names another. The first of four steps that give existing tasks a list without locking a
-- large table for long (expand, backfill, index, contract):
--   0016 (this one) adds the lists, and `tasks.list_id` as a nullable column (only the catalog
--        changes), with a trigger that puts any task written without a list into its owner's
--        Inbox, whichever release writes it;
--   0017 puts the tasks stored before it into their owner's Inbox, in batches;
--   0018 indexes the tasks by list, without blocking writes;
--   0019 makes `list_id` required, once every row has one.
SET LOCAL lock_timeout = '5s';

CREATE TABLE task_lists (
    user_id     text        NOT NULL,
    -- Drawn at random, as a task's id is (migration 0012).
    id          bigint      NOT NULL DEFAULT random_task_id(),
    name        text        NOT NULL,
    color       text,
    -- The manual order's key (impl/positions.py), compared byte by byte.
    position    text        COLLATE "C" NOT NULL,
    is_inbox    boolean     NOT NULL DEFAULT false,
    archived    boolean     NOT NULL DEFAULT false,
    version     bigint      NOT NULL DEFAULT 1,
    created_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    updated_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    changed_xid xid8        NOT NULL DEFAULT pg_current_xact_id(),
    CONSTRAINT task_lists_pkey PRIMARY KEY (user_id, id),
    CONSTRAINT task_lists_inbox_not_archived CHECK (NOT (is_inbox AND archived)),
    -- The user ids of tasks (migrations 0001 and 0008).
    CONSTRAINT task_lists_user_id_format CHECK (user_id ~ '^[A-Za-z0-9_.-]{1,128}$'),
    CONSTRAINT task_lists_user_id_not_dot_segment CHECK (user_id NOT IN ('.', '..')),
    CONSTRAINT task_lists_name_length CHECK (char_length(name) BETWEEN 1 AND 100),
    CONSTRAINT task_lists_color_format CHECK (color ~ '^#[0-9a-f]{6}$'),
    CONSTRAINT task_lists_version_positive CHECK (version >= 1)
);
-- Exactly one Inbox per user: two transactions that create it at once cannot both succeed.
CREATE UNIQUE INDEX task_lists_inbox_idx ON task_lists (user_id) WHERE is_inbox;
-- One list per place in the order: two moves that compute the same key cannot both commit.
-- It also serves `sort=manual`.
CREATE UNIQUE INDEX task_lists_user_id_position_idx ON task_lists (user_id, position);
CREATE INDEX task_lists_user_id_name_idx ON task_lists (user_id, (name COLLATE "C"), id);
CREATE INDEX task_lists_user_id_created_at_idx ON task_lists (user_id, created_at, id);
CREATE INDEX task_lists_user_id_changed_xid_idx ON task_lists (user_id, changed_xid, id);

-- The ids of deleted lists, for delta sync, kept as long as those of deleted tasks.
CREATE TABLE task_list_deletions (
    user_id     text        NOT NULL,
    list_id     bigint      NOT NULL,
    deleted_xid xid8        NOT NULL DEFAULT pg_current_xact_id(),
    deleted_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    CONSTRAINT task_list_deletions_pkey PRIMARY KEY (user_id, list_id)
);
CREATE INDEX task_list_deletions_user_id_deleted_xid_idx
    ON task_list_deletions (user_id, deleted_xid, list_id);
CREATE INDEX task_list_deletions_user_id_deleted_at_idx
    ON task_list_deletions (user_id, deleted_at);

-- The user's Inbox, created if the user has none yet. Each statement of a volatile function
-- takes its own snapshot: when a concurrent transaction creates the Inbox first, the insert
-- waits for it and does nothing, and the second read finds it.
CREATE FUNCTION user_inbox(owner text) RETURNS bigint
    LANGUAGE plpgsql VOLATILE
    AS $$
        DECLARE
            inbox bigint;
        BEGIN
            SELECT id INTO inbox FROM task_lists WHERE user_id = owner AND is_inbox;
            IF inbox IS NOT NULL THEN
                RETURN inbox;
            END IF;
            -- The Inbox is the user's first list, so its place in the order is free.
            INSERT INTO task_lists (user_id, name, position, is_inbox)
                VALUES (owner, 'Inbox', 'a0', true)
                ON CONFLICT (user_id) WHERE is_inbox DO NOTHING
                RETURNING id INTO inbox;
            IF inbox IS NULL THEN
                SELECT id INTO inbox FROM task_lists WHERE user_id = owner AND is_inbox;
            END IF;
            RETURN inbox;
        END
    $$;
COMMENT ON FUNCTION user_inbox(text) IS
    'The id of the user''s Inbox, which it creates if the user has none yet.';

ALTER TABLE tasks ADD COLUMN list_id bigint;
-- Checked for every row written from now on, and for the rows stored before once 0017 has
-- filled them (0019 validates both, then makes the column NOT NULL).
ALTER TABLE tasks
    ADD CONSTRAINT tasks_list_id_not_null CHECK (list_id IS NOT NULL) NOT VALID,
    ADD CONSTRAINT tasks_list_id_fkey FOREIGN KEY (user_id, list_id)
        REFERENCES task_lists (user_id, id) NOT VALID;

-- A trigger, not the service, so that a task the previous release writes during the rollout
-- (which knows nothing of lists) lands in its owner's Inbox too. The condition is evaluated
-- before the function is called: a write that names its list costs nothing more.
CREATE FUNCTION tasks_into_inbox() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
        BEGIN
            NEW.list_id := user_inbox(NEW.user_id);
            RETURN NEW;
        END
    $$;
CREATE TRIGGER tasks_into_inbox
    BEFORE INSERT OR UPDATE ON tasks
    FOR EACH ROW WHEN (NEW.list_id IS NULL) EXECUTE FUNCTION tasks_into_inbox();
