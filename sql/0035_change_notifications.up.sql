-- Live events (contract 2.9.0): every statement that writes a user's tasks or task lists
-- notifies channel `taskapi_changes` once per user it wrote for, with the payload
-- "<clock_timestamp() as epoch seconds> <user_id>"; one that moves a user's reminders' fire
-- times (`task_reminders`, kept by migration 0031's triggers) notifies `taskapi_reminders` with
-- the same payload, so that only those users' next fire times are read again. The notification is sent when, and only if,
-- the writing transaction commits, so a listener that hears it can take a snapshot that sees the
-- change. Triggers rather than the application, so that every write, present or future, is
-- announced: the live stream must be as complete as the change feed.
SET LOCAL lock_timeout = '5s';

-- The channel is the trigger's argument.
CREATE FUNCTION notify_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify(TG_ARGV[0], extract(epoch FROM clock_timestamp())::text || ' ' || user_id)
    FROM (SELECT DISTINCT user_id FROM changed_rows) AS users;
    RETURN NULL;
END
$$;

-- A trigger with a transition table takes one event: three per table.
CREATE TRIGGER tasks_notify_insert AFTER INSERT ON tasks
    REFERENCING NEW TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION notify_change('taskapi_changes');
CREATE TRIGGER tasks_notify_update AFTER UPDATE ON tasks
    REFERENCING NEW TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION notify_change('taskapi_changes');
CREATE TRIGGER tasks_notify_delete AFTER DELETE ON tasks
    REFERENCING OLD TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION notify_change('taskapi_changes');
CREATE TRIGGER task_lists_notify_insert AFTER INSERT ON task_lists
    REFERENCING NEW TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION notify_change('taskapi_changes');
CREATE TRIGGER task_lists_notify_update AFTER UPDATE ON task_lists
    REFERENCING NEW TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION notify_change('taskapi_changes');
CREATE TRIGGER task_lists_notify_delete AFTER DELETE ON task_lists
    REFERENCING OLD TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION notify_change('taskapi_changes');
CREATE TRIGGER task_reminders_notify_insert AFTER INSERT ON task_reminders
    REFERENCING NEW TABLE AS changed_rows FOR EACH STATEMENT
    EXECUTE FUNCTION notify_change('taskapi_reminders');
CREATE TRIGGER task_reminders_notify_update AFTER UPDATE ON task_reminders
    REFERENCING NEW TABLE AS changed_rows FOR EACH STATEMENT
    EXECUTE FUNCTION notify_change('taskapi_reminders');
CREATE TRIGGER task_reminders_notify_delete AFTER DELETE ON task_reminders
    REFERENCING OLD TABLE AS changed_rows FOR EACH STATEMENT
    EXECUTE FUNCTION notify_change('taskapi_reminders');
