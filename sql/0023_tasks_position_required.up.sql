-- Every task has a position, for good: validated under a lock that lets reads and writes go on,
-- then NOT NULL from the validated check, in an instant (as 0019 does for the list).
SET LOCAL lock_timeout = '5s';
ALTER TABLE tasks VALIDATE CONSTRAINT tasks_position_not_null;
ALTER TABLE tasks ALTER COLUMN position SET NOT NULL;
ALTER TABLE tasks DROP CONSTRAINT tasks_position_not_null;
