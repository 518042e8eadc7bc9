-- Back as 0004 made it: adding a stored generated column writes the table again.
SET LOCAL lock_timeout = '5s';

ALTER TABLE tasks ADD COLUMN search tsvector
    GENERATED ALWAYS AS (to_tsvector('simple', title || ' ' || coalesce(description, ''))) STORED;
CREATE INDEX tasks_search_idx ON tasks USING gin (search);
