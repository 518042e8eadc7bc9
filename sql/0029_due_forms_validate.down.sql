ALTER TABLE tasks DROP CONSTRAINT tasks_due_forms;
