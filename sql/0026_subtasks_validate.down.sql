SET LOCAL lock_timeout = '5s';
ALTER TABLE tasks DROP CONSTRAINT tasks_parent_id_fkey;
ALTER TABLE tasks
    ADD CONSTRAINT tasks_parent_id_fkey FOREIGN KEY (user_id, parent_id)
        REFERENCES tasks (user_id, id) NOT VALID;
