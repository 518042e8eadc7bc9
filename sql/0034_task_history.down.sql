SET LOCAL lock_timeout = '5s';

DROP TRIGGER task_history_record ON tasks;
DROP FUNCTION task_history_record();
DROP TABLE task_history;
