-- no-transaction
-- Nothing to undo: the words are in the column 0011 adds, and 0011's down drops it. Words kept
-- are the ones the trigger writes anyway, and the up, run again, skips the tasks that have them.
-- The runner also runs this before the up, where there is nothing to clear either.
SELECT;
