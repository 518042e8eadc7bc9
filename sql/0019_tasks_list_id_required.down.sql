SET LOCAL lock_timeout = '5s';
ALTER TABLE tasks ALTER COLUMN list_id DROP NOT NULL;
ALTER TABLE tasks ADD CONSTRAINT tasks_list_id_not_null CHECK (list_id IS NOT NULL) NOT VALID;
ALTER TABLE tasks DROP CONSTRAINT tasks_list_id_fkey;
ALTER TABLE tasks
    ADD CONSTRAINT tasks_list_id_fkey FOREIGN KEY (user_id, list_id)
        REFERENCES task_lists (user_id, id) NOT VALID;
