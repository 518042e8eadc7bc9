-- no-transaction
-- The retention job deletes every user's expired idempotency keys: it finds them by age alone.
-- Built without blocking writes to the table.
CREATE INDEX CONCURRENTLY idempotency_keys_created_at_idx ON idempotency_keys (created_at);
