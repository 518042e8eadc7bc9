ALTER TABLE tasks DROP CONSTRAINT tasks_user_id_not_dot_segment;
