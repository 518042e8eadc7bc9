-- no-transaction
-- A parent's subtasks in their order (`parent_id=`, the last place among them, a subtree walked
-- down), built without blocking writes.
CREATE INDEX CONCURRENTLY tasks_user_id_parent_id_position_idx
    ON tasks (user_id, parent_id, position, id) WHERE parent_id IS NOT NULL;
