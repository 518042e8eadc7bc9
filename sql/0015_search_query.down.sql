DROP FUNCTION task_search_query(text);
