"""Reminders: the fire times of a user's open tasks, for a notifier to find what fires next."""
