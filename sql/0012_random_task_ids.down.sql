-- Back to one sequence, which goes on after the largest id of any task, drawn ones included, so
-- that it never meets one. Once ids have been drawn, that is close to 2^53 - 1, and soon past
-- what a JavaScript client reads exactly: this rolls back a failed deployment, not a working one.
-- Finding the largest id reads the whole table under the lock the change takes.
SET LOCAL lock_timeout = '5s';

ALTER TABLE tasks ALTER COLUMN id DROP DEFAULT;
DROP FUNCTION random_task_id();
DO $$
BEGIN
    EXECUTE format(
        'ALTER TABLE tasks ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (START WITH %s)',
        (SELECT coalesce(max(id), 0) + 1 FROM tasks)
    );
END
$$;
