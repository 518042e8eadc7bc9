-- no-transaction
-- The index of 0036's terms, built without blocking writes. Without GIN's pending list
-- (`fastupdate`): with one, every write appended its entries to a list of up to 4 MB that each
-- lookup reads whole, whoever wrote them, until a vacuum or an unlucky write moved them into the
-- index. A lookup now reads its user's entries alone, and a write pays for its own entries.
CREATE INDEX CONCURRENTLY tasks_owner_terms_idx ON tasks
    USING gin (task_owner_terms(user_id, search_words, tags)) WITH (fastupdate = off);
