-- Delta sync. Every write stamps the row with the id of its transaction (xid8: 64 bits, never
-- wraps). A sync token is a snapshot: the changes since a token are the rows whose transaction
-- it could not see. Unlike a timestamp, this catches a write that commits after a concurrent one
-- that a client has already been shown.
ALTER TABLE tasks ADD COLUMN changed_xid xid8 NOT NULL DEFAULT pg_current_xact_id();
CREATE INDEX tasks_user_id_changed_xid_idx ON tasks (user_id, changed_xid, id);

-- The ids of deleted tasks, kept for the retention period of sync tokens.
CREATE TABLE task_deletions (
    user_id     text        NOT NULL,
    task_id     bigint      NOT NULL,
    deleted_xid xid8        NOT NULL DEFAULT pg_current_xact_id(),
    deleted_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    CONSTRAINT task_deletions_pkey PRIMARY KEY (user_id, task_id)
);
CREATE INDEX task_deletions_user_id_deleted_xid_idx
    ON task_deletions (user_id, deleted_xid, task_id);
CREATE INDEX task_deletions_user_id_deleted_at_idx ON task_deletions (user_id, deleted_at);
