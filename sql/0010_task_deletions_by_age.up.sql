-- no-transaction
-- The retention job deletes every user's deleted ids past the sync retention: by age alone.
-- Built without blocking writes to the table.
CREATE INDEX CONCURRENTLY task_deletions_deleted_at_idx ON task_deletions (deleted_at);
