"""Dates and times of tasks: due dates, time zones and recurring series."""
