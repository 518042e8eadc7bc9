"""An embedded PostgreSQL (pgserver) for machines with no database configured."""

import json
import logging
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from impl.db.url import ConnectionTarget, normalize_database_url
from impl.processes import is_running
from impl.settings import Settings

logger = logging.getLogger(__name__)
# Where pgserver 0.1.4 lists the ids of the processes using a server (its DiskList).
HANDLES_FILE = ".handle_pids.json"
# pgserver logs every command it runs, initdb's whole output included, at INFO.
logging.getLogger("pgserver").setLevel(logging.WARNING)


@contextmanager
def embedded_postgres(data_dir: Path) -> Iterator[str]:
    """Start (or reuse) a server keeping its data in `data_dir`; stop it on exit. Yields its URL."""
    with warnings.catch_warnings():
        # platformdirs warns at import when XDG_RUNTIME_DIR is unset (containers, CI) and falls
        # back to /tmp, which is fine for the lock file pgserver keeps there.
        warnings.simplefilter("ignore")
        import pgserver  # the `embedded` extra: production installs need not carry PostgreSQL

    data_dir = data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    _forget_dead_handles(data_dir)
    server = pgserver.get_server(data_dir, cleanup_mode="stop")
    logger.info("embedded PostgreSQL running with data in %s", data_dir)
    try:
        yield f"postgresql://postgres:@/postgres?host={data_dir}"
    finally:
        server.cleanup()
        logger.info("embedded PostgreSQL stopped")


def _forget_dead_handles(data_dir: Path) -> None:
    """Drop processes that no longer exist from pgserver's list of the server's users.

    pgserver stops the server when its last user lets go, but a user killed without cleanup stays
    on the list for ever, and the server would then never stop.
    """
    handles = data_dir / HANDLES_FILE
    if not handles.exists():
        return
    pids = json.loads(handles.read_text())
    alive = [pid for pid in pids if is_running(pid)]
    if alive != pids:
        handles.write_text(json.dumps(alive))


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
