DROP FUNCTION user_time_zone_for_writes(text);
DROP TABLE user_settings;
ALTER TABLE tasks DROP COLUMN overdue_at, DROP COLUMN due;
