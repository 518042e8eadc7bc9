SET LOCAL lock_timeout = '5s';
ALTER TABLE tasks ALTER COLUMN position DROP NOT NULL;
ALTER TABLE tasks ADD CONSTRAINT tasks_position_not_null CHECK (position IS NOT NULL) NOT VALID;
