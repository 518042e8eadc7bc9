"""A user's task lists: the Inbox and the lists the user makes."""
