-- no-transaction
-- The tasks stored before 0020 get positions: in each list, the order they were created in
-- (oldest first). One user at a time, each committed on its own, as 0013 and 0017 batch their
-- work. The keys are 'W' and four base-62 digits (negative integers of impl/positions.py, 14
-- million of them a list), which sort before every key the service makes ('a0' and after): a
-- task the service writes while this runs comes after the tasks stored before it. Only
-- `position` and `changed_xid` are set: `version` and `updated_at` stay, and the next sync hands
-- each task once more, with its position. A run stopped half-way goes on where it was.
DO $$
DECLARE
    digits constant text := '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
    -- Before every user id: none is empty.
    after_user text := '';
    next_user text;
BEGIN
    LOOP
        SELECT user_id INTO next_user FROM tasks
        WHERE user_id > after_user ORDER BY user_id LIMIT 1;
        IF next_user IS NULL THEN
            RETURN;
        END IF;
        UPDATE tasks SET changed_xid = pg_current_xact_id(),
            position = 'W'
                || substr(digits, (ordered.n / 238328) % 62 + 1, 1)
                || substr(digits, (ordered.n / 3844) % 62 + 1, 1)
                || substr(digits, (ordered.n / 62) % 62 + 1, 1)
                || substr(digits, ordered.n % 62 + 1, 1)
        FROM (
            SELECT id, (row_number() OVER (PARTITION BY list_id ORDER BY created_at, id))::integer AS n
            FROM tasks WHERE user_id = next_user AND position IS NULL
        ) AS ordered
        WHERE tasks.user_id = next_user AND tasks.id = ordered.id;
        COMMIT;
        after_user := next_user;
    END LOOP;
END
$$;
