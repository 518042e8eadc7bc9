"""Swagger UI at `/docs` and ReDoc at `/redoc`, every script and style served by this service.

The pages load nothing from another origin (their Content-Security-Policy allows only 'self'), so
they work offline. The bundles come from npm's `swagger-ui-dist` and `redoc`, pinned by
`scripts/docs-assets/package-lock.json`, installed into `.tools/docs-assets` and copied into the
package's resources (so a wheel built after it carries them) by `make run`, `make serve` and
`make docs-assets`. Without them the service still starts: it logs a warning and
both pages answer 503 `docs_unavailable` until the bundles are installed.
"""

import html
import logging
from collections.abc import Awaitable, Callable
from functools import cache
from pathlib import Path

from fastapi import FastAPI, Request, Response
from fastapi.responses import FileResponse, HTMLResponse

from impl.error_handlers import error_response
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

# URL path -> (file, media type). Only these files are served, never a directory listing.
SWAGGER_UI_ASSETS = {
    "/docs/assets/swagger-ui-bundle.js": (
        ASSETS_DIR / "swagger-ui-dist" / "swagger-ui-bundle.js",
        "text/javascript",
    ),
    "/docs/assets/swagger-ui.css": (
        ASSETS_DIR / "swagger-ui-dist" / "swagger-ui.css",
        "text/css",
    ),
    "/docs/assets/favicon-32x32.png": (
        ASSETS_DIR / "swagger-ui-dist" / "favicon-32x32.png",
        "image/png",
    ),
}
REDOC_BUNDLE = ASSETS_DIR / "redoc" / "bundles" / "redoc.standalone.js"
REDOC_BUNDLE_URL = "/redoc/assets/redoc.standalone.js"
REDOC_ASSETS = {REDOC_BUNDLE_URL: (REDOC_BUNDLE, "text/javascript")}
# The one remote address in ReDoc's bundle: the Redocly logo of the sidebar's "API docs by
# Redocly" link, unconditional in ReDoc 2. Without it the link is text only.
REDOC_REMOTE_LOGO = b'src:"https://cdn.redoc.ly/redoc/logo-mini.svg"'
REDOC_NO_LOGO = b'src:""'
OWN_ASSETS = {
    "/docs/assets/swagger-ui-init.js": (HERE / "swagger-ui-init.js", "text/javascript"),
}


def missing_assets() -> list[Path]:
    return [
        path
        for path, _ in (*SWAGGER_UI_ASSETS.values(), *REDOC_ASSETS.values())
        if not path.is_file()
    ]


def add_docs_routes(app: FastAPI, title: str, openapi_url: str) -> None:
    missing = missing_assets()
    if missing:
        logger.warning(
            "Swagger UI and ReDoc are not installed (%s is missing): /docs and /redoc answer 503"
            " until `%s` installs them",
            missing[0],
            INSTALL_COMMAND,
        )
    swagger_page = _swagger_ui_html(html.escape(f"{title} - Swagger UI"), html.escape(openapi_url))
    redoc_page = _redoc_html(html.escape(f"{title} - ReDoc"), html.escape(openapi_url))

    async def swagger_ui(request: Request) -> Response:
        return _page(swagger_page)

    async def redoc(request: Request) -> Response:
        return _page(redoc_page)

    app.add_api_route("/docs", swagger_ui, include_in_schema=False, methods=["GET", "HEAD"])
    app.add_api_route("/redoc", redoc, include_in_schema=False, methods=["GET", "HEAD"])
    app.add_api_route(
        REDOC_BUNDLE_URL, _redoc_bundle, include_in_schema=False, methods=["GET", "HEAD"]
    )
    for url_path, (file, media_type) in {**SWAGGER_UI_ASSETS, **OWN_ASSETS}.items():
        app.add_api_route(
            url_path, _asset(file, media_type), include_in_schema=False, methods=["GET", "HEAD"]
        )


def _page(body: str) -> Response:
    """The page, or 503 while a bundle it loads is missing (checked per request: cheap, and an
    install while the service runs is picked up)."""
    missing = missing_assets()
    if missing:
        return error_response(
            503,
            "docs_unavailable",
            f"Swagger UI and ReDoc are not installed: run `{INSTALL_COMMAND}`.",
            {"missing": [str(path.relative_to(ASSETS_DIR)) for path in missing]},
        )
    return HTMLResponse(body, headers=DOCS_HEADERS)


def _asset(file: Path, media_type: str) -> Callable[[Request], Awaitable[Response]]:
    async def serve(request: Request) -> Response:
        if missing_assets():
            return error_response(
                503, "docs_unavailable", f"Not installed: run `{INSTALL_COMMAND}`.", None
            )
        return FileResponse(file, media_type=media_type, headers=DOCS_HEADERS)

    return serve


async def _redoc_bundle(request: Request) -> Response:
    if missing_assets():
        return error_response(
            503, "docs_unavailable", f"Not installed: run `{INSTALL_COMMAND}`.", None
        )
    return Response(_redoc_bundle_without_remote_logo(), media_type="text/javascript")


@cache
def _redoc_bundle_without_remote_logo() -> bytes:
    return REDOC_BUNDLE.read_bytes().replace(REDOC_REMOTE_LOGO, REDOC_NO_LOGO)


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
