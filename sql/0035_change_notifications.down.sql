SET LOCAL lock_timeout = '5s';

DROP TRIGGER tasks_notify_insert ON tasks;
DROP TRIGGER tasks_notify_update ON tasks;
DROP TRIGGER tasks_notify_delete ON tasks;
DROP TRIGGER task_lists_notify_insert ON task_lists;
DROP TRIGGER task_lists_notify_update ON task_lists;
DROP TRIGGER task_lists_notify_delete ON task_lists;
DROP TRIGGER task_reminders_notify_insert ON task_reminders;
DROP TRIGGER task_reminders_notify_update ON task_reminders;
DROP TRIGGER task_reminders_notify_delete ON task_reminders;
DROP FUNCTION notify_change();
