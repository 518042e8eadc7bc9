"""Swagger UI's and ReDoc's files are read once, when the app is built, and served from memory:
no request reads or checks a file on disk. Without a bundle the pages and files answer 503
`docs_unavailable`, naming what is missing and the command that installs it.

Hermetic: each test installs stand-in bundles of its own into a temporary directory.
"""

import asyncio
import logging
import shutil
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from impl.docs import (
    CONTENT_SECURITY_POLICY,
    INSTALL_COMMAND,
    REDOC_NO_LOGO,
    REDOC_REMOTE_LOGO,
    add_docs_routes,
)

OPENAPI_URL = "/openapi.json"
REDOC_BUNDLE = "redoc/bundles/redoc.standalone.js"
# URL path -> (file under the assets directory, its stand-in content, the media type served).
BUNDLE_FILES = {
    "/docs/assets/swagger-ui-bundle.js": (
        "swagger-ui-dist/swagger-ui-bundle.js",
        b"window.SwaggerUIBundle = function () {};",
        "text/javascript; charset=utf-8",
    ),
    "/docs/assets/swagger-ui.css": (
        "swagger-ui-dist/swagger-ui.css",
        b".swagger-ui { color: black }",
        "text/css; charset=utf-8",
    ),
    "/docs/assets/favicon-32x32.png": (
        "swagger-ui-dist/favicon-32x32.png",
        b"\x89PNG\r\n\x1a\n",
        "image/png",
    ),
    "/redoc/assets/redoc.standalone.js": (
        REDOC_BUNDLE,
        b"var logo = {" + REDOC_REMOTE_LOGO + b"};",
        "text/javascript; charset=utf-8",
    ),
}


def install_bundles(directory: Path, *, leave_out: str | None = None) -> Path:
    for file, content, _ in BUNDLE_FILES.values():
        if file != leave_out:
            (directory / file).parent.mkdir(parents=True, exist_ok=True)
            (directory / file).write_bytes(content)
    return directory


def docs_app(assets_dir: Path) -> FastAPI:
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
    add_docs_routes(app, "Tasks <API>", OPENAPI_URL, assets_dir)
    return app


def get(app: FastAPI, path: str) -> httpx.Response:
    async def send() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return await client.get(path)

    return asyncio.run(send())


def test_the_files_are_served_as_they_were_when_the_app_was_built(tmp_path: Path) -> None:
    assets_dir = install_bundles(tmp_path / "assets")
    app = docs_app(assets_dir)
    shutil.rmtree(assets_dir)

    for url, (_, content, media_type) in BUNDLE_FILES.items():
        response = get(app, url)

        assert response.status_code == 200, url
        assert response.headers["content-type"] == media_type
        assert response.content == content.replace(REDOC_REMOTE_LOGO, REDOC_NO_LOGO)


def test_redoc_is_served_without_the_logo_it_would_load_from_its_cdn(tmp_path: Path) -> None:
    app = docs_app(install_bundles(tmp_path))

    bundle = get(app, "/redoc/assets/redoc.standalone.js").content

    assert REDOC_REMOTE_LOGO not in bundle
    assert REDOC_NO_LOGO in bundle


def test_the_swagger_ui_start_up_script_is_served_from_the_package(tmp_path: Path) -> None:
    response = get(docs_app(install_bundles(tmp_path)), "/docs/assets/swagger-ui-init.js")

    assert response.status_code == 200
    assert response.headers["content-type"] == "text/javascript; charset=utf-8"
    assert (
        response.content
        == (Path(__file__).parents[2] / "impl/docs/swagger-ui-init.js").read_bytes()
    )


@pytest.mark.parametrize(("path", "marker"), [("/docs", "swagger-ui"), ("/redoc", "<redoc")])
def test_a_page_loads_the_contract_under_its_content_security_policy(
    tmp_path: Path, path: str, marker: str
) -> None:
    response = get(docs_app(install_bundles(tmp_path)), path)

    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert response.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert marker in response.text
    assert f'"{OPENAPI_URL}"' in response.text
    assert "Tasks &lt;API&gt;" in response.text


@pytest.mark.parametrize("path", ["/docs", "/redoc"])
def test_without_a_bundle_a_page_is_503_naming_what_is_missing_and_how_to_install_it(
    tmp_path: Path, path: str
) -> None:
    app = docs_app(install_bundles(tmp_path, leave_out=REDOC_BUNDLE))

    response = get(app, path)

    assert response.status_code == 503
    body = response.json()
    assert body["error"] == "docs_unavailable"
    assert INSTALL_COMMAND in body["message"]
    assert body["details"] == {"missing": [REDOC_BUNDLE]}


@pytest.mark.parametrize("url", [*BUNDLE_FILES, "/docs/assets/swagger-ui-init.js"])
def test_without_a_bundle_every_file_is_503(tmp_path: Path, url: str) -> None:
    app = docs_app(install_bundles(tmp_path, leave_out=REDOC_BUNDLE))

    response = get(app, url)

    assert response.status_code == 503
    assert response.json()["error"] == "docs_unavailable"


def test_without_a_bundle_the_app_is_built_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="impl.docs"):
        docs_app(install_bundles(tmp_path, leave_out=REDOC_BUNDLE))

    (record,) = caplog.records
    assert REDOC_BUNDLE in record.getMessage()
    assert INSTALL_COMMAND in record.getMessage()
