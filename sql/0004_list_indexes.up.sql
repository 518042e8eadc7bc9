-- One index per sort order of the list, each led by user_id and ending in id (the tie-breaker),
-- so that a page is a range scan from the cursor whatever the page number. A btree is read in
-- both directions: each index serves the ascending and the descending sort.
-- (created_at DESC, id DESC) exists since 0002.
CREATE INDEX tasks_user_id_updated_at_idx ON tasks (user_id, updated_at, id);
CREATE INDEX tasks_user_id_priority_idx ON tasks (user_id, priority, id);
CREATE INDEX tasks_user_id_title_idx ON tasks (user_id, (title COLLATE "C"), id);
-- Tasks without a due date come last in both directions: the ascending sort reads them as
-- +infinity, the descending one as -infinity.
CREATE INDEX tasks_user_id_due_at_asc_idx
    ON tasks (user_id, (coalesce(due_at, 'infinity'::timestamptz)), id);
CREATE INDEX tasks_user_id_due_at_desc_idx
    ON tasks (user_id, (coalesce(due_at, '-infinity'::timestamptz)), id);

-- "Every task with tag X": tags @> ARRAY[X].
CREATE INDEX tasks_tags_idx ON tasks USING gin (tags);

-- Text search in title and description: the words, lower-cased, without stemming ('simple'),
-- so that `q` matches word prefixes in any language.
ALTER TABLE tasks ADD COLUMN search tsvector
    GENERATED ALWAYS AS (to_tsvector('simple', title || ' ' || coalesce(description, ''))) STORED;
CREATE INDEX tasks_search_idx ON tasks USING gin (search);
