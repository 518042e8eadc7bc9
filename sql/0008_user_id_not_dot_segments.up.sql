-- The user ids "." and ".." matched the user-id pattern, but every RFC 3986 client removes such
-- a segment from /api/{user_id}/tasks before sending, so those users could never reach their
-- tasks. They are no longer user ids (contract 2.0.0). NOT VALID: rows a raw client may have
-- written under them stay where they are (nobody can authenticate as them any more); no new
-- row can be written for them.
ALTER TABLE tasks
    ADD CONSTRAINT tasks_user_id_not_dot_segment CHECK (user_id NOT IN ('.', '..')) NOT VALID;
