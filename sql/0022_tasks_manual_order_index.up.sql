-- no-transaction
-- `sort=manual`: each list's tasks by position, ties by id; and the last position of a list,
-- which a new task comes after. Built without blocking writes, once 0021 has filled it.
CREATE INDEX CONCURRENTLY tasks_user_id_list_id_position_idx
    ON tasks (user_id, list_id, position, id);
