-- Priority, tags, due date, completion time and version. The priority enum sorts by rank.
CREATE TYPE task_priority AS ENUM ('low', 'medium', 'high', 'urgent');

-- Tags as the service stores them: 1 to 50 characters each, none null, none repeated.
CREATE FUNCTION task_tags_valid(tags text[]) RETURNS boolean
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN (SELECT coalesce(bool_and(char_length(tag) BETWEEN 1 AND 50), true)
                   AND count(*) = count(DISTINCT tag)
              FROM unnest(tags) AS tag);

ALTER TABLE tasks
    ADD COLUMN priority     task_priority NOT NULL DEFAULT 'medium',
    ADD COLUMN tags         text[]        NOT NULL DEFAULT '{}',
    ADD COLUMN due_at       timestamptz,
    ADD COLUMN completed_at timestamptz,
    ADD COLUMN version      bigint        NOT NULL DEFAULT 1;

-- A task completed before this migration was last completed no later than its last change.
UPDATE tasks SET completed_at = updated_at WHERE completed;

ALTER TABLE tasks
    ADD CONSTRAINT tasks_tags_count CHECK (cardinality(tags) <= 20),
    ADD CONSTRAINT tasks_tags_valid CHECK (task_tags_valid(tags)),
    ADD CONSTRAINT tasks_completed_at_iff_completed CHECK ((completed_at IS NOT NULL) = completed),
    ADD CONSTRAINT tasks_version_positive CHECK (version >= 1);
