-- Tasks, keyed by (user_id, id): every lookup is scoped to one user, and the key can later
-- become the distribution key of a sharded table without changing a query.
CREATE TABLE tasks (
    user_id     text        NOT NULL,
    id          bigint      GENERATED ALWAYS AS IDENTITY,
    title       text        NOT NULL,
    description text,
    completed   boolean     NOT NULL DEFAULT false,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT tasks_pkey PRIMARY KEY (user_id, id),
    CONSTRAINT tasks_user_id_format CHECK (user_id ~ '^[A-Za-z0-9_.-]{1,128}$'),
    CONSTRAINT tasks_title_length CHECK (char_length(title) BETWEEN 1 AND 200),
    CONSTRAINT tasks_title_not_blank CHECK (title ~ '[^[:space:]]'),
    CONSTRAINT tasks_description_length CHECK (char_length(description) <= 1000)
);

COMMENT ON TABLE tasks IS 'Todo tasks; listed newest first by (user_id, id DESC) through tasks_pkey.';
