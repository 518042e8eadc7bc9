-- no-transaction
-- Nothing to undo: `position` is the column 0020 adds, and 0020's down drops it. The runner also
-- runs this before the up, where there is nothing to clear either.
SELECT;
