-- no-transaction
-- The tasks stored before 0016 go into their owner's Inbox. Batches of 5,000 tasks in key order,
-- each committed on its own, as 0013 does: no transaction holds row locks, or keeps old row
-- versions from vacuum, for longer than one batch takes. A batch first creates the Inbox of each
-- owner it meets that has none, then fills `list_id`. Only `list_id` and `changed_xid` are set:
-- `version` and `updated_at` stay, so no If-Match stops matching, while delta sync hands each
-- task once more, now with its list. A run stopped half-way goes on from the start, skipping
-- the tasks that have a list.
DO $$
DECLARE
    batch constant integer := 5000;
    -- Before every key: a user id is never empty.
    after_user text := '';
    after_id bigint := 0;
    last_user text;
    last_id bigint;
BEGIN
    LOOP
        SELECT user_id, id INTO last_user, last_id
        FROM tasks
        WHERE (user_id, id) > (after_user, after_id)
        ORDER BY user_id, id
        OFFSET batch - 1 LIMIT 1;
        -- Fewer than a batch are left: the last one is open-ended.
        IF last_user IS NULL THEN
            INSERT INTO task_lists (user_id, name, position, is_inbox)
                SELECT DISTINCT user_id, 'Inbox', 'a0', true
                FROM tasks
                WHERE (user_id, id) > (after_user, after_id) AND list_id IS NULL
                ON CONFLICT (user_id) WHERE is_inbox DO NOTHING;
            UPDATE tasks SET list_id = inbox.id, changed_xid = pg_current_xact_id()
            FROM task_lists AS inbox
            WHERE (tasks.user_id, tasks.id) > (after_user, after_id)
                AND tasks.list_id IS NULL
                AND inbox.user_id = tasks.user_id AND inbox.is_inbox;
            COMMIT;
            RETURN;
        END IF;
        -- Both bounds in the index condition: a batch reads its own range of the key, whatever
        -- plan PL/pgSQL keeps for the statement.
        INSERT INTO task_lists (user_id, name, position, is_inbox)
            SELECT DISTINCT user_id, 'Inbox', 'a0', true
            FROM tasks
            WHERE (user_id, id) > (after_user, after_id)
                AND (user_id, id) <= (last_user, last_id)
                AND list_id IS NULL
            ON CONFLICT (user_id) WHERE is_inbox DO NOTHING;
        UPDATE tasks SET list_id = inbox.id, changed_xid = pg_current_xact_id()
        FROM task_lists AS inbox
        WHERE (tasks.user_id, tasks.id) > (after_user, after_id)
            AND (tasks.user_id, tasks.id) <= (last_user, last_id)
            AND tasks.list_id IS NULL
            AND inbox.user_id = tasks.user_id AND inbox.is_inbox;
        COMMIT;
        after_user := last_user;
        after_id := last_id;
    END LOOP;
END
$$;
