"""The reference web app reaches taskapi only through the generated client.

Its one gateway is web/src/lib/task-api.ts, which imports @taskapi/client (openapi-fetch over the
types generated from openapi.yaml). No other module may make a request of its own or name an API
path, so every call the app makes is one the contract types.
"""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ROOT / "web" / "src"
GATEWAY = SOURCES / "lib" / "task-api.ts"
# Better Auth's own endpoints, served by the app on its own origin.
AUTH_ROUTES = SOURCES / "app" / "api" / "auth"

# Ways a browser or Node.js makes a request without the client.
RAW_REQUESTS = re.compile(
    r"\bfetch\s*\(|\bXMLHttpRequest\b|\bEventSource\b|\bWebSocket\b|\bsendBeacon\b"
    r"|from\s+[\"'](?:axios|ky|got|undici|node-fetch|openapi-fetch)[\"']"
)
CLIENT_IMPORT = re.compile(r"from\s+[\"']@taskapi/client[\"']")
API_PATH = re.compile(r"[\"'`]/api/(?!auth\b)")


def violations(path: Path, text: str) -> list[str]:
    """What in `text` (the source of `path`) reaches the API other than through the gateway."""
    found = [f"a request of its own: {match.group(0)!r}" for match in RAW_REQUESTS.finditer(text)]
    if path != GATEWAY:
        if CLIENT_IMPORT.search(text):
            found.append("imports @taskapi/client (only lib/task-api.ts may)")
        found += [f"names an API path: {match.group(0)}" for match in API_PATH.finditer(text)]
    return found


def app_sources() -> list[Path]:
    return sorted(
        path for path in SOURCES.rglob("*") if path.suffix in {".ts", ".tsx", ".js", ".jsx", ".mjs"}
    )


def test_the_app_has_sources_and_the_gateway_uses_the_generated_client() -> None:
    assert len(app_sources()) > 10
    assert CLIENT_IMPORT.search(GATEWAY.read_text(encoding="utf-8"))


def test_no_module_reaches_the_api_but_through_the_generated_client() -> None:
    found = {
        str(path.relative_to(ROOT)): problems
        for path in app_sources()
        if not path.is_relative_to(AUTH_ROUTES)
        and (problems := violations(path, path.read_text(encoding="utf-8")))
    }

    assert found == {}


@pytest.mark.parametrize(
    ("path", "source"),
    [
        (SOURCES / "components" / "x.tsx", "const r = await fetch(`${base}/api/${id}/tasks`);"),
        (SOURCES / "components" / "x.tsx", 'import createClient from "openapi-fetch";'),
        (
            SOURCES / "components" / "x.tsx",
            'import { createTaskApiClient } from "@taskapi/client";',
        ),
        (SOURCES / "lib" / "x.ts", "const path = '/api/' + userId + '/tasks';"),
        (SOURCES / "lib" / "x.ts", "new EventSource(url)"),
        (GATEWAY, "window.fetch (url)"),
    ],
)
def test_the_check_finds_a_call_around_the_client(path: Path, source: str) -> None:
    assert violations(path, source) != []


def test_the_check_lets_the_sign_in_client_and_the_gateway_be() -> None:
    sign_in_client = 'createAuthClient({ basePath: "/api/auth" })'
    assert violations(SOURCES / "lib" / "auth-client.ts", sign_in_client) == []
    assert violations(GATEWAY, 'this.#client.GET("/api/{user_id}/tasks", {})') == []
