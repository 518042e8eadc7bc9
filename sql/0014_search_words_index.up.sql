-- no-transaction
-- The index search reads, built without blocking writes once 0013 has given every task its
-- words: one build from complete data costs less than updating the index for every row filled.
CREATE INDEX CONCURRENTLY tasks_search_words_idx ON tasks USING gin (search_words);
