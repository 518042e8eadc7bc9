-- Task ids are drawn at random from 1 to 2^53 - 1 instead of from one sequence shared by every
-- user, whose steps told a user how many tasks everybody else had created in between. 2^53 - 1
-- is the largest integer a JavaScript client, which reads JSON numbers as doubles, reads exactly.
-- An id is unique per user, as the key (user_id, id) always said: a draw the user already holds
-- is drawn again by the service (impl/tasks/repository.py). Existing tasks keep their ids.
--
-- Only the catalog changes: the table is neither rewritten nor read, and its lock is held for
-- an instant. Waiting for that lock behind a long transaction would stall every request queued
-- behind the wait, so the migration gives up instead; run it again.
SET LOCAL lock_timeout = '5s';

-- The last 7 bytes of a version 4 UUID are 56 bits from PostgreSQL's strong random source (no
-- extension needed), folded onto 1 .. 2^53 - 1.
CREATE FUNCTION random_task_id() RETURNS bigint
    LANGUAGE sql VOLATILE PARALLEL SAFE
    AS $$
        SELECT ('x' || encode(substring(uuid_send(gen_random_uuid()) FROM 10 FOR 7), 'hex'))
            ::bit(56)::bigint % 9007199254740991 + 1
    $$;
COMMENT ON FUNCTION random_task_id() IS
    'A task id drawn at random from 1 to 2^53 - 1: ids tell nothing of other users'' writes.';

ALTER TABLE tasks
    ALTER COLUMN id DROP IDENTITY,
    ALTER COLUMN id SET DEFAULT random_task_id();
