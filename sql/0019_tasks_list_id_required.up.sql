-- Every task has a list, for good. Validating reads the table under a lock that lets reads and
-- writes go on; SET NOT NULL then trusts the validated check instead of reading the table
-- again, so the exclusive lock it needs is held for an instant (and never waited for long:
-- lock_timeout gives up instead; run it again).
SET LOCAL lock_timeout = '5s';
ALTER TABLE tasks VALIDATE CONSTRAINT tasks_list_id_not_null;
ALTER TABLE tasks VALIDATE CONSTRAINT tasks_list_id_fkey;
ALTER TABLE tasks ALTER COLUMN list_id SET NOT NULL;
ALTER TABLE tasks DROP CONSTRAINT tasks_list_id_not_null;
