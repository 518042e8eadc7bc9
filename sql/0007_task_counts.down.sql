DROP TABLE task_counts;
