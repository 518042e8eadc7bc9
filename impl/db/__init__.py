"""PostgreSQL access: connection URLs, the engine, migrations and the embedded server."""
