-- Due dates in the form a person means them (contract 2.5.0): a date alone, a floating local
-- time, or a local time in a named zone, kept as given in `due`. `due_at` stays the instant, and
-- `overdue_at` is when a pending task becomes overdue (the end of the day for a date alone,
-- `due_at` otherwise): both are derived by the service, which holds the pinned time zone
-- database, so that no query reads a zone. A date alone or a floating time is read in the
-- user's time zone, kept in `user_settings` (a user without a row is in UTC). Only the catalog
-- changes here; 0028 fills the forms of the due dates stored before.
SET LOCAL lock_timeout = '5s';

ALTER TABLE tasks ADD COLUMN due jsonb, ADD COLUMN overdue_at timestamptz;

CREATE TABLE user_settings (
    user_id    text        NOT NULL,
    time_zone  text        NOT NULL,
    version    bigint      NOT NULL,
    updated_at timestamptz NOT NULL,
    CONSTRAINT user_settings_pkey PRIMARY KEY (user_id),
    CONSTRAINT user_settings_time_zone_length CHECK (char_length(time_zone) BETWEEN 1 AND 64),
    -- Version 1 is the defaults, which need no row.
    CONSTRAINT user_settings_version_changed CHECK (version >= 2)
);

-- The user's zone for a write that reads a due date in it, taken after the user's zone lock
-- (shared): a change of zone (impl/settings) holds it exclusively while it moves the due dates
-- it reads, so that no write reads the old zone and commits after them. A function, so that
-- its query takes a snapshot after the lock is granted (a statement's own is taken before).
CREATE FUNCTION user_time_zone_for_writes(owner text) RETURNS text
    LANGUAGE plpgsql VOLATILE
    AS $$
        BEGIN
            PERFORM pg_advisory_xact_lock_shared(hashtextextended('user time zone' || E'\n' || owner, 0));
            RETURN coalesce((SELECT time_zone FROM user_settings WHERE user_id = owner), 'UTC');
        END
    $$;
