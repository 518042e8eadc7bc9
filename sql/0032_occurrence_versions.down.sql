SET LOCAL lock_timeout = '5s';

ALTER TABLE task_occurrences DROP COLUMN from_version;
