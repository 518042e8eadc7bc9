-- Recurring tasks (contract 2.6.0): a task's `recurrence` (its rule, in canonical form, and
-- whether the next occurrence counts from the due date or the completion), and the occurrences
-- completed or skipped, kept as long as their task. A recurring task has a due date: checked for
-- the rows written from now on (every row stored before has no recurrence, so none breaks it).
SET LOCAL lock_timeout = '5s';

ALTER TABLE tasks ADD COLUMN recurrence jsonb;
ALTER TABLE tasks
    ADD CONSTRAINT tasks_recurrence_needs_due CHECK (recurrence IS NULL OR due IS NOT NULL)
        NOT VALID;

-- Listed newest first by its key; gone with its task.
CREATE TABLE task_occurrences (
    user_id     text        NOT NULL,
    task_id     bigint      NOT NULL,
    id          bigint      GENERATED ALWAYS AS IDENTITY,
    due         jsonb       NOT NULL,
    due_at      timestamptz NOT NULL,
    outcome     text        NOT NULL,
    recorded_at timestamptz NOT NULL,
    CONSTRAINT task_occurrences_pkey PRIMARY KEY (user_id, task_id, id),
    CONSTRAINT task_occurrences_task_fkey FOREIGN KEY (user_id, task_id)
        REFERENCES tasks (user_id, id) ON DELETE CASCADE,
    CONSTRAINT task_occurrences_outcome CHECK (outcome IN ('completed', 'skipped'))
);
