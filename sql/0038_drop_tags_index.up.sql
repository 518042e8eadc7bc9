-- no-transaction
-- The index of every user's tags under one key per tag. Left in place, the planner would still
-- read a rare tag through it, at the cost of the whole table's rows with that tag: 0037's index
-- serves tag filters now. The release before this one reads it; while this one rolls out, that
-- release's tag filters read the user's tasks by key instead, and find the same tasks.
DROP INDEX CONCURRENTLY IF EXISTS tasks_tags_idx;
