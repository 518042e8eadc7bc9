-- What is in the trash is lost: the items, and the occurrences of the tasks in it.
SET LOCAL lock_timeout = '5s';

DROP TRIGGER task_lists_id_not_trashed ON task_lists;
DROP FUNCTION task_lists_id_not_trashed();
DROP TRIGGER tasks_id_not_trashed ON tasks;
DROP FUNCTION tasks_id_not_trashed();
DELETE FROM task_occurrences AS o
WHERE NOT EXISTS (SELECT FROM tasks WHERE tasks.user_id = o.user_id AND tasks.id = o.task_id);
ALTER TABLE task_occurrences
    ADD CONSTRAINT task_occurrences_task_fkey FOREIGN KEY (user_id, task_id)
        REFERENCES tasks (user_id, id) ON DELETE CASCADE;
DROP TABLE trashed_lists;
DROP TABLE trashed_tasks;
DROP TABLE trash;
