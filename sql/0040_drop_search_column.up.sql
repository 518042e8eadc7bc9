-- The words of migration 0004, which no release has read since the one that read 0011's
-- `search_words` instead: a generated column, computed again on every write of a task, and an
-- index of every user's words. Dropping the column drops its index (tasks_search_idx) with it;
-- only the catalog changes.
SET LOCAL lock_timeout = '5s';

ALTER TABLE tasks DROP COLUMN search;
