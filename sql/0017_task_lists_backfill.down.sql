-- no-transaction
-- Nothing to undo: `list_id` is the column 0016 adds, and 0016's down drops it. The runner also
-- runs this before the up, where there is nothing to clear either.
SELECT;
