-- A task has a due date in both forms or in neither, checked for the rows 0028 filled under a
-- lock that lets reads and writes go on.
SET LOCAL lock_timeout = '5s';

ALTER TABLE tasks
    ADD CONSTRAINT tasks_due_forms CHECK (
        (due IS NULL) = (due_at IS NULL) AND (overdue_at IS NULL) = (due_at IS NULL)
    ) NOT VALID;
ALTER TABLE tasks VALIDATE CONSTRAINT tasks_due_forms;
