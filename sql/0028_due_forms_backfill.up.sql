-- no-transaction
-- Each due date stored before 0027 becomes a time in UTC, the form `due_at` sets, and is overdue
-- from `due_at`. In batches of 5,000 tasks in key order, each committed on its own, as 0013 and
-- 0017 do. Only the new columns and `changed_xid` are set: `version` and `updated_at` stay, so
-- no If-Match stops matching, while delta sync hands each task once more, with its `due`. A run
-- stopped half-way goes on from the start, skipping the tasks that have a `due`.
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
        -- Both bounds in the index condition; the last batch is open-ended.
        UPDATE tasks
        SET due = jsonb_build_object(
                'date', to_char(due_at AT TIME ZONE 'UTC', 'YYYY-MM-DD'),
                'time', to_char(due_at AT TIME ZONE 'UTC', 'HH24:MI:SS')
                    || CASE WHEN extract(microseconds FROM due_at) % 1000000 = 0 THEN ''
                            ELSE to_char(due_at AT TIME ZONE 'UTC', '.US') END,
                'time_zone', 'UTC'),
            overdue_at = due_at,
            changed_xid = pg_current_xact_id()
        WHERE (user_id, id) > (after_user, after_id)
            AND (last_user IS NULL OR (user_id, id) <= (last_user, last_id))
            AND due_at IS NOT NULL AND due IS NULL;
        COMMIT;
        EXIT WHEN last_user IS NULL;
        after_user := last_user;
        after_id := last_id;
    END LOOP;
END
$$;
