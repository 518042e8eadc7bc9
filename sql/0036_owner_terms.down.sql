SET LOCAL lock_timeout = '5s';

DROP FUNCTION task_owner_tags_query(text, text[]);
DROP FUNCTION task_owner_words_query(text, text);
DROP FUNCTION task_owner_terms(text, tsvector, text[]);
DROP FUNCTION task_owner_key(text);
