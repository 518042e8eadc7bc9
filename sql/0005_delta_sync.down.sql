DROP TABLE task_deletions;
DROP INDEX tasks_user_id_changed_xid_idx;
ALTER TABLE tasks DROP COLUMN changed_xid;
