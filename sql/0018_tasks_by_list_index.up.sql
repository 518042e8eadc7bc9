-- no-transaction
-- The tasks of one list, newest first (the list's default order), and the tasks a deleted list
-- takes with it; built without blocking writes, once 0017 has given every task its list.
CREATE INDEX CONCURRENTLY tasks_user_id_list_id_created_at_idx
    ON tasks (user_id, list_id, created_at, id);
