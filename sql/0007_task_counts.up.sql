-- How many tasks each user holds, kept by the statements that create and delete tasks, so that
-- the per-user cap is checked and taken in one locked row (concurrent creates cannot overshoot).
CREATE TABLE task_counts (
    user_id    text    PRIMARY KEY,
    task_count integer NOT NULL,
    CONSTRAINT task_counts_not_negative CHECK (task_count >= 0)
);

INSERT INTO task_counts (user_id, task_count)
SELECT user_id, count(*) FROM tasks GROUP BY user_id;
