-- The version of its task an occurrence was completed or skipped from, so that a second
-- completion naming that version with If-Match (a double tap, a second tab) is answered with the
-- task as it is rather than 412 or a second advance. Occurrences recorded before have none.
SET LOCAL lock_timeout = '5s';

ALTER TABLE task_occurrences ADD COLUMN from_version bigint;
