ALTER TABLE tasks
    DROP CONSTRAINT tasks_version_positive,
    DROP CONSTRAINT tasks_completed_at_iff_completed,
    DROP CONSTRAINT tasks_tags_valid,
    DROP CONSTRAINT tasks_tags_count,
    DROP COLUMN version,
    DROP COLUMN completed_at,
    DROP COLUMN due_at,
    DROP COLUMN tags,
    DROP COLUMN priority;

DROP FUNCTION task_tags_valid(text[]);
DROP TYPE task_priority;
