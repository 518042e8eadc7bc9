"""`python -m impl`: serve the API, on an embedded PostgreSQL when DATABASE_URL is unset."""

import logging
import signal
import sys
from types import FrameType

import uvicorn
from pydantic import ValidationError

from impl.app import create_app
from impl.db.embedded import database_target
from impl.db.url import DatabaseUrlError
from impl.settings import Settings

logger = logging.getLogger("impl")


def _load_settings() -> Settings:
    try:
        return Settings()
    except ValidationError as error:
        # Only the setting's name and the rule: the rejected value may be a secret.
        for problem in error.errors():
            name = ".".join(str(part) for part in problem["loc"]).upper()
            print(f"configuration error: {name}: {problem['msg']}", file=sys.stderr)
        print("See .env.example; `make run` creates a .env with a dev secret.", file=sys.stderr)
        sys.exit(2)


def _exit_on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)


def main() -> None:
    # uvicorn re-raises the signal that stopped it once it has shut down; as an exception
    # (not the default action, which kills the process) it lets the embedded database stop too.
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    settings = _load_settings()
    logging.basicConfig(
        level=settings.log_level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        with database_target(settings) as target:
            app = create_app(settings, target)
            base = f"http://{settings.api_host}:{settings.api_port}"
            logger.info("database: %s", target.redacted())
            logger.info("API docs: %s/docs (token: make token USER=<user id>)", base)
            uvicorn.run(
                app,
                host=settings.api_host,
                port=settings.api_port,
                log_config=None,
                server_header=False,
            )
    except DatabaseUrlError as error:
        print(f"configuration error: DATABASE_URL: {error}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        # Ctrl-C: uvicorn has shut down and the embedded database has stopped.
        sys.exit(130)


if __name__ == "__main__":
    main()
