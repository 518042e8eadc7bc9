-- The query a search text makes: every word of it, each as a prefix ('mil' finds "milk"), all of
-- them required. Its words are found by the rule that finds a task's (task_search_words, 0011),
-- so that a search matches tasks the way their words were stored. A text with no word gives
-- NULL, which matches nothing. The service binds the text as one parameter: the quoting that
-- to_tsquery's syntax needs is done here, once, in SQL.
--
-- Added before the release that calls it, and dropped after that release is rolled back: the
-- release before it builds the same query in its own statements.
CREATE FUNCTION task_search_query(search text) RETURNS tsquery
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN (
        SELECT to_tsquery('simple', string_agg(
            '''' || replace(replace(word.lexeme, '\', '\\'), '''', '''''') || ''':*', ' & '
        ))
        FROM unnest(task_search_words(search, NULL)) AS word
    );
COMMENT ON FUNCTION task_search_query(text) IS
    'What search finds: every word of the text as task_search_words finds it, each a prefix.';
