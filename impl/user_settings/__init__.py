"""A user's settings: the time zone that due dates without one of their own are read in."""
