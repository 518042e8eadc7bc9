"""Swagger UI at `/docs` and ReDoc at `/redoc`, every script and style served by this service.

The pages load nothing from another origin (their Content-Security-Policy allows only 'self'), so
they work offline. The bundles come from npm's `swagger-ui-dist` and `redoc`, pinned by
`scripts/docs-assets/package-lock.json`, installed into `.tools/docs-assets` and copied into the
package's resources (so a wheel built after it carries them) by `make run`, `make serve` and
`make docs-assets`. They are read once, when the app is built, and served from memory: no request
reads the disk. Without them the service still starts: it logs a warning and both pages answer
503 `docs_unavailable` until the bundles are installed and the service restarted.
"""

import html
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request, Response

from impl.error_handlers import error_response
from impl.errors import ErrorCode
from impl.resources import DOCS_ASSETS_DIR

logger = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
ASSETS_DIR = DOCS_ASSETS_DIR
INSTALL_COMMAND = "make docs-assets"

# Only this origin, with three exceptions that load nothing from elsewhere: `data:` images (the
# icons inlined in Swagger UI's stylesheet), inline styles (both UIs set style attributes and
# ReDoc's styled-components writes <style> elements at run time) and a `blob:` worker (ReDoc's
# search index). Scripts come from 'self' only: Swagger UI's start-up script is a file.
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "img-src 'self' data:",
        "style-src 'self' 'unsafe-inline'",
        "worker-src 'self' blob:",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'self'",
    )
)
DOCS_HEADERS = {"Content-Security-Policy": CONTENT_SECURITY_POLICY}

# URL path -> (file under the assets directory, media type). Only these files are served, never a
# directory listing.
SWAGGER_UI_ASSETS = {
    "/docs/assets/swagger-ui-bundle.js": (
        Path("swagger-ui-dist", "swagger-ui-bundle.js"),
        "text/javascript",
    ),
    "/docs/assets/swagger-ui.css": (Path("swagger-ui-dist", "swagger-ui.css"), "text/css"),
    "/docs/assets/favicon-32x32.png": (Path("swagger-ui-dist", "favicon-32x32.png"), "image/png"),
}
REDOC_BUNDLE_URL = "/redoc/assets/redoc.standalone.js"
REDOC_ASSETS = {
    REDOC_BUNDLE_URL: (Path("redoc", "bundles", "redoc.standalone.js"), "text/javascript"),
}
# The one remote address in ReDoc's bundle: the Redocly logo of the sidebar's "API docs by
# Redocly" link, unconditional in ReDoc 2. Without it the link is text only.
REDOC_REMOTE_LOGO = b'src:"https://cdn.redoc.ly/redoc/logo-mini.svg"'
REDOC_NO_LOGO = b'src:""'
# This package's own files, served beside the bundles.
OWN_ASSETS = {
    "/docs/assets/swagger-ui-init.js": (HERE / "swagger-ui-init.js", "text/javascript"),
}

Endpoint = Callable[[Request], Awaitable[Response]]


@dataclass(frozen=True)
class Asset:
    """A page or a file it loads, as it is served."""

    body: bytes
    media_type: str


def missing_assets(assets_dir: Path = ASSETS_DIR) -> list[Path]:
    """The bundle files not installed in `assets_dir`."""
    return [
        assets_dir / file
        for file, _ in (*SWAGGER_UI_ASSETS.values(), *REDOC_ASSETS.values())
        if not (assets_dir / file).is_file()
    ]


def add_docs_routes(
    app: FastAPI, title: str, openapi_url: str, assets_dir: Path = ASSETS_DIR
) -> None:
    """`/docs`, `/redoc` and the files they load, from the bundles in `assets_dir` as they are
    now, or 503 for each while a bundle is missing."""
    missing = missing_assets(assets_dir)
    if missing:
        logger.warning(
            "Swagger UI and ReDoc are not installed (%s is missing): /docs and /redoc answer 503"
            " until `%s` installs them and the service restarts",
            missing[0],
            INSTALL_COMMAND,
        )
        _add_unavailable_routes(app, [str(path.relative_to(assets_dir)) for path in missing])
        return
    pages = {
        "/docs": _page(
            _swagger_ui_html(html.escape(f"{title} - Swagger UI"), html.escape(openapi_url))
        ),
        "/redoc": _page(_redoc_html(html.escape(f"{title} - ReDoc"), html.escape(openapi_url))),
    }
    for url_path, asset in {**pages, **_read_assets(assets_dir)}.items():
        _add_route(app, url_path, _serving(asset))


def _page(body: str) -> Asset:
    return Asset(body.encode(), "text/html")


def _read_assets(assets_dir: Path) -> dict[str, Asset]:
    """Every file the pages load, by URL path; ReDoc's bundle without its one remote address."""
    files = {
        url_path: (assets_dir / file, media_type)
        for url_path, (file, media_type) in {**REDOC_ASSETS, **SWAGGER_UI_ASSETS}.items()
    } | OWN_ASSETS
    assets = {
        url_path: Asset(file.read_bytes(), media) for url_path, (file, media) in files.items()
    }
    redoc = assets[REDOC_BUNDLE_URL]
    assets[REDOC_BUNDLE_URL] = Asset(
        redoc.body.replace(REDOC_REMOTE_LOGO, REDOC_NO_LOGO), redoc.media_type
    )
    return assets


def _add_unavailable_routes(app: FastAPI, missing: list[str]) -> None:
    page_message = f"Swagger UI and ReDoc are not installed: run `{INSTALL_COMMAND}`."
    for url_path in ("/docs", "/redoc"):
        _add_route(app, url_path, _unavailable(page_message, {"missing": missing}))
    file_message = f"Not installed: run `{INSTALL_COMMAND}`."
    for url_path in (*REDOC_ASSETS, *SWAGGER_UI_ASSETS, *OWN_ASSETS):
        _add_route(app, url_path, _unavailable(file_message, None))


def _add_route(app: FastAPI, url_path: str, endpoint: Endpoint) -> None:
    app.add_api_route(url_path, endpoint, include_in_schema=False, methods=["GET", "HEAD"])


def _serving(asset: Asset) -> Endpoint:
    async def serve(request: Request) -> Response:
        # A new response each time: middleware appends headers to the list a response sends.
        return Response(asset.body, media_type=asset.media_type, headers=DOCS_HEADERS)

    return serve


def _unavailable(message: str, details: dict[str, Any] | None) -> Endpoint:
    async def refuse(request: Request) -> Response:
        return error_response(ErrorCode.DOCS_UNAVAILABLE, message, details)

    return refuse


def _swagger_ui_html(title: str, openapi_url: str) -> str:
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<link rel="icon" type="image/png" href="/docs/assets/favicon-32x32.png">
<link rel="stylesheet" href="/docs/assets/swagger-ui.css">
</head>
<body>
<div id="swagger-ui" data-openapi-url="{openapi_url}"></div>
<script src="/docs/assets/swagger-ui-bundle.js"></script>
<script src="/docs/assets/swagger-ui-init.js"></script>
</body>
</html>
"""


def _redoc_html(title: str, openapi_url: str) -> str:
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<link rel="icon" type="image/png" href="/docs/assets/favicon-32x32.png">
</head>
<body>
<redoc spec-url="{openapi_url}"></redoc>
<script src="/redoc/assets/redoc.standalone.js"></script>
</body>
</html>
"""
