-- Idempotency keys of task creation, per user, with the answer to replay to a retry: the task
-- as it was created (the body of the 201). Kept in the database so that they hold across
-- replicas; expired after a configured time.
CREATE TABLE idempotency_keys (
    user_id      text        NOT NULL,
    key          text        NOT NULL,
    request_hash bytea       NOT NULL,
    response     bytea       NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
    CONSTRAINT idempotency_keys_pkey PRIMARY KEY (user_id, key),
    CONSTRAINT idempotency_keys_key_format CHECK (key ~ '^[!-~]{1,255}$')
);
CREATE INDEX idempotency_keys_user_id_created_at_idx ON idempotency_keys (user_id, created_at);
