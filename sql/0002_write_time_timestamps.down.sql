COMMENT ON TABLE tasks IS 'Todo tasks; listed newest first by (user_id, id DESC) through tasks_pkey.';

DROP INDEX tasks_user_id_created_at_idx;

ALTER TABLE tasks
    ALTER COLUMN created_at SET DEFAULT now(),
    ALTER COLUMN updated_at SET DEFAULT now();
