-- Search and tag filters that cost what the user's own tasks cost, not what the table holds.
-- A GIN index of the words and of the tags held every user's entries under one key per word
-- or tag: finding one user's tasks with "milk" read the "milk" of every user, then kept this
-- one's. Here each word and tag is indexed under a key of its own per user: the first 8 hex
-- digits of md5(user_id), then `:w:` and the word, or `:t:` and the tag. A lookup reads the
-- entries of its user alone (ADR 0024); two users whose ids share the 8 digits share entries,
-- and each statement still keeps only its user's rows.
--
-- The terms are an expression of the stored words and tags, indexed by 0037, not a column:
-- nothing is backfilled, and a write computes them once, for the index. A statement that reads
-- a user's tasks by key filters each row by the stored words and tags themselves (`tags @>`,
-- `search_words @@`), which it also names, and computes the terms only for the rows that
-- passed those.
--
-- A word is cut to 200 characters, which keeps every key within what a lexeme holds (2,047
-- bytes): `q` is at most 200 characters, so every word it can name begins within the cut.
SET LOCAL lock_timeout = '5s';

-- The rule for a user's key, which both queries below use, and task_owner_terms spells out.
CREATE FUNCTION task_owner_key(user_id text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN left(md5(user_id), 8);
COMMENT ON FUNCTION task_owner_key(text) IS
    'The key a user''s words and tags are indexed under: the first 8 hex digits of md5(user_id).';

-- PL/pgSQL, not SQL: a SQL function whose body holds a query is planned again in every
-- statement that calls it, which made every write of a task 0.2 ms slower; PL/pgSQL keeps
-- what it prepared for the session. Every name in it is a built-in, which pg_catalog, searched
-- first whatever the search_path, resolves: pg_restore, and PostgreSQL 17's index builds and
-- ANALYZE, run with a search_path of pg_catalog alone, so this body spells task_owner_key's
-- rule out rather than call it by name (a SQL-standard body, as the queries below have, is
-- bound when it is created).
CREATE FUNCTION task_owner_terms(user_id text, words tsvector, tags text[]) RETURNS tsvector
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
    AS $$
        DECLARE
            owner constant text := left(md5(user_id), 8);
            terms text[] := '{}';
            word text;
            tag text;
        BEGIN
            FOREACH word IN ARRAY coalesce(tsvector_to_array(words), '{}') LOOP
                terms := terms || (owner || ':w:' || left(word, 200));
            END LOOP;
            FOREACH tag IN ARRAY coalesce(tags, '{}') LOOP
                terms := terms || (owner || ':t:' || tag);
            END LOOP;
            RETURN array_to_tsvector(terms);
        END
    $$;
COMMENT ON FUNCTION task_owner_terms(text, tsvector, text[]) IS
    'A task''s words and tags, each under a key of its owner''s: what tasks_owner_terms_idx holds.';

-- The query of a search text: each of its words (as task_search_words finds them) as a prefix
-- of a word of the user's, all of them required. A text with no word gives NULL, which matches
-- nothing, as task_search_query's does.
CREATE FUNCTION task_owner_words_query(user_id text, search text) RETURNS tsquery
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN (
        SELECT string_agg(
            '''' || replace(replace(owner.key || ':w:' || left(word, 200), '\', '\\'), '''', '''''')
                || ''':*',
            ' & '
        )::tsquery
        FROM unnest(tsvector_to_array(task_search_words(search, NULL))) AS word,
             (SELECT task_owner_key(user_id)) AS owner (key)
    );
COMMENT ON FUNCTION task_owner_words_query(text, text) IS
    'What a search finds among one user''s task_owner_terms: every word of the text, as a prefix.';

-- The query of a tag filter: every tag, exactly as written (a tsquery cast, unlike to_tsquery,
-- keeps each term as it is).
CREATE FUNCTION task_owner_tags_query(user_id text, tags text[]) RETURNS tsquery
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN (
        SELECT string_agg(
            '''' || replace(replace(owner.key || ':t:' || tag, '\', '\\'), '''', '''''') || '''',
            ' & '
        )::tsquery
        FROM unnest(tags) AS tag, (SELECT task_owner_key(user_id)) AS owner (key)
    );
COMMENT ON FUNCTION task_owner_tags_query(text, text[]) IS
    'What a tag filter finds among one user''s task_owner_terms: every tag, exactly.';
