-- The key of the tasks stored before subtasks (all at the top level) to their parent, validated
-- under a lock that lets reads and writes go on.
ALTER TABLE tasks VALIDATE CONSTRAINT tasks_parent_id_fkey;
