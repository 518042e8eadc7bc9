"""Live events: a Server-Sent Events stream per user, fed by PostgreSQL notifications."""
