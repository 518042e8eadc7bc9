SET LOCAL lock_timeout = '5s';

DROP TRIGGER tasks_search_words ON tasks;
DROP FUNCTION tasks_set_search_words();
ALTER TABLE tasks DROP COLUMN search_words;
DROP FUNCTION task_search_words(text, text);
