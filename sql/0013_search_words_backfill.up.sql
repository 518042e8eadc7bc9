-- no-transaction
-- The words of the tasks stored before 0011, whose trigger fills those written since. Batches
-- of 5,000 tasks in key order, each committed on its own: no transaction holds row locks, or
-- keeps old row versions from vacuum, for longer than one batch takes. Only `search_words` is
-- set, so a task's `updated_at`, `version` and `changed_xid` stay: delta sync does not hand every
-- task to every client again, and no If-Match stops matching. A run stopped half-way goes on
-- from the start, skipping the tasks it filled.
--
-- One walk leaves none behind: keys never change, so a task the service updates while the walk
-- runs keeps its place ahead of it, and its words if it has them already.
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
            UPDATE tasks SET search_words = task_search_words(title, description)
            WHERE (user_id, id) > (after_user, after_id) AND search_words IS NULL;
            COMMIT;
            RETURN;
        END IF;
        -- Both bounds in the index condition: a batch reads its own range of the key, whatever
        -- plan PL/pgSQL keeps for the statement.
        UPDATE tasks SET search_words = task_search_words(title, description)
        WHERE (user_id, id) > (after_user, after_id)
            AND (user_id, id) <= (last_user, last_id)
            AND search_words IS NULL;
        COMMIT;
        after_user := last_user;
        after_id := last_id;
    END LOOP;
END
$$;
