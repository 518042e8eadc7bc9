"""An embedded PostgreSQL (pgserver) for machines with no database configured."""

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from impl.db.url import ConnectionTarget, normalize_database_url
from impl.settings import Settings

logger = logging.getLogger(__name__)


@contextmanager
def embedded_postgres(data_dir: Path) -> Iterator[str]:
    """Start (or reuse) a server keeping its data in `data_dir`; stop it on exit. Yields its URL."""
    import pgserver  # the `embedded` extra: production installs need not carry PostgreSQL

    data_dir = data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    server = pgserver.get_server(data_dir, cleanup_mode="stop")
    logger.info("embedded PostgreSQL running with data in %s", data_dir)
    try:
        yield f"postgresql://postgres:@/postgres?host={data_dir}"
    finally:
        server.cleanup()
        logger.info("embedded PostgreSQL stopped")


@contextmanager
def database_target(settings: Settings) -> Iterator[ConnectionTarget]:
    """The configured DATABASE_URL, or an embedded server for as long as the block runs."""
    if settings.database_url is not None:
        yield normalize_database_url(
            settings.database_url.get_secret_value(),
            connect_timeout_seconds=settings.db_connect_timeout_seconds,
        )
        return
    with embedded_postgres(settings.embedded_db_dir) as url:
        yield normalize_database_url(
            url, connect_timeout_seconds=settings.db_connect_timeout_seconds
        )
