DROP TRIGGER tasks_into_inbox ON tasks;
DROP FUNCTION tasks_into_inbox();
ALTER TABLE tasks DROP COLUMN list_id;
DROP FUNCTION user_inbox(text);
DROP TABLE task_list_deletions;
DROP TABLE task_lists;
