DROP TABLE task_occurrences;
ALTER TABLE tasks DROP CONSTRAINT tasks_recurrence_needs_due, DROP COLUMN recurrence;
