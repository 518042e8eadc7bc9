-- Timestamps are the time of the write (clock_timestamp()), not the start of the transaction
-- (now()): concurrent writers otherwise store them in another order than they commit.
ALTER TABLE tasks
    ALTER COLUMN created_at SET DEFAULT clock_timestamp(),
    ALTER COLUMN updated_at SET DEFAULT clock_timestamp();

-- The list is newest first by created_at, ties broken by id, so that its order always agrees with
-- the timestamps it returns (ids are handed out before the row's time is taken).
CREATE INDEX tasks_user_id_created_at_idx ON tasks (user_id, created_at DESC, id DESC);

COMMENT ON TABLE tasks IS
    'Todo tasks; listed newest first by (user_id, created_at DESC, id DESC) through tasks_user_id_created_at_idx.';
