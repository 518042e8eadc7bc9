-- no-transaction
-- Nothing to undo: `due` and `overdue_at` are the columns 0027 adds, and 0027's down drops them.
-- The runner also runs this before the up, where there is nothing to clear either.
SELECT;
