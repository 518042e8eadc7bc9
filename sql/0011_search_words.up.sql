-- Text search by the words people read. PostgreSQL's parser keeps a path, a host name, an e-mail
-- address or a URL as one word ("milk/eggs", "x@y.com"), and compares code points, so that "é"
-- sent precomposed and as "e" plus a combining accent were two words. The words are now those of
-- the title and description in Unicode NFC, with ASCII punctuation read as spaces: the parser
-- splits at every other character that is not a letter or a digit already.
--
-- The words are stored, not indexed as an expression: the service's statements are prepared,
-- and a generic plan that reads a user's tasks by key filters each row by its words, which an
-- expression would compute again for every row. Changing the expression of the generated column
-- `search` would rewrite the table under an exclusive lock, so the words go in a column of their
-- own, in three steps: this migration adds the column (nullable, without a default: only the
-- catalog changes) and keeps it filled on every write, 0013 fills the rows stored before it,
-- and 0014 indexes it.
--
-- `search` and tasks_search_idx stay: the release before this one reads them while this one
-- rolls out. The release after it drops them.
SET LOCAL lock_timeout = '5s';

-- The one rule for words, used for tasks here and for the search text by impl/tasks/queries.py.
-- A body in standard SQL is bound when it is created, whatever the search_path of the caller.
CREATE FUNCTION task_search_words(title text, description text) RETURNS tsvector
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN to_tsvector('simple', translate(
        normalize(title || ' ' || coalesce(description, ''), NFC),
        '!"#$%&''()*+,-./:;<=>?@[\]^_`{|}~', '                                '
    ));
COMMENT ON FUNCTION task_search_words(text, text) IS
    'The words search finds in a task: NFC, ASCII punctuation read as spaces, lower-cased.';

ALTER TABLE tasks ADD COLUMN search_words tsvector;

-- A trigger, not the service, so that tasks the previous release writes during the rollout get
-- their words too.
CREATE FUNCTION tasks_set_search_words() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
        BEGIN
            NEW.search_words := task_search_words(NEW.title, NEW.description);
            RETURN NEW;
        END
    $$;
CREATE TRIGGER tasks_search_words
    BEFORE INSERT OR UPDATE OF title, description ON tasks
    FOR EACH ROW EXECUTE FUNCTION tasks_set_search_words();
