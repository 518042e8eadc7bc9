"""A task's history: its versions, the user's activity, and a previous version made current."""
