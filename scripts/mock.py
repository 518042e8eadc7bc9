"""`make mock`: the contract's examples served by Stoplight Prism, behind a front that makes them
behave as the service does where a frontend would notice.

Prism answers every operation with its example and validates every request against openapi.yaml.
The front (this module, on MOCK_PORT) adds what examples alone get wrong:
- CORS exactly as the service's (impl.app.add_cors): only the origins in CORS_ORIGINS (or
  --cors-origin), none by default; Prism itself would allow any origin;
- a task's `ETag` is its body's `version`, quoted, as the contract says (the header's example is
  some other version);
- `Idempotent-Replayed: true` only for a create that repeats an `Idempotency-Key` this mock has
  seen (Prism would send it on every create);
- a 422's `details` name the request's own mistakes (Prism's validation), not the example's.

Usage: python scripts/mock.py --prism <prism executable> [--port 4010] [--cors-origin URL ...]
"""

import argparse
import json
import os
import signal
from collections.abc import Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from types import FrameType
from typing import Any

import httpx
import uvicorn
from child_processes import child_process, free_port, wait_until_answering
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from impl.app import add_cors

ROOT = Path(__file__).resolve().parents[1]
CONTRACT = ROOT / "openapi.yaml"
METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
# Hop-by-hop, framing and server headers: each side of the front sets its own.
NOT_FORWARDED = {
    "host",
    "connection",
    "keep-alive",
    "transfer-encoding",
    "content-length",
    "date",
    "server",
}
VIOLATIONS = "sl-violations"
STARTUP_TIMEOUT_SECONDS = 30


class MockFront:
    """Forwards to Prism and corrects its answers; remembers the idempotency keys it has seen."""

    def __init__(self) -> None:
        self.seen_keys: set[str] = set()

    async def forward(self, request: Request) -> Response:
        client: httpx.AsyncClient = request.state.client
        upstream = await client.request(
            request.method,
            request.url.path,
            params=request.url.query.encode(),
            headers=[
                (name, value)
                for name, value in request.headers.items()
                if name.lower() not in NOT_FORWARDED
            ],
            content=await request.body(),
        )
        # Names in lower case (as HTTP/1.1 compares them), to look them up as they are.
        headers = {
            name: value
            for name, value in upstream.headers.items()
            if name not in NOT_FORWARDED and name != VIOLATIONS
        }
        body = upstream.content
        violations = upstream.headers.get(VIOLATIONS)
        document = _json(upstream) if violations is not None or "etag" in headers else None
        if document is not None and upstream.status_code == 422 and violations is not None:
            document["details"] = _details(violations)
            body = json.dumps(document).encode()
        if document is not None and "etag" in headers and "version" in document:
            headers["etag"] = f'"{document["version"]}"'
        self._mark_replay(request, upstream.status_code, headers)
        return Response(body, status_code=upstream.status_code, headers=headers)

    def _mark_replay(self, request: Request, status: int, headers: dict[str, str]) -> None:
        """Prism sends `Idempotent-Replayed` on every create: keep it only for a repeated key."""
        if headers.pop("idempotent-replayed", None) is None:
            return
        key = request.headers.get("idempotency-key")
        if key is None or status >= 300:
            return
        if key in self.seen_keys:
            headers["idempotent-replayed"] = "true"
        else:
            self.seen_keys.add(key)


def _json(response: httpx.Response) -> dict[str, Any] | None:
    if not response.headers.get("content-type", "").startswith("application/json"):
        return None
    try:
        document = response.json()
    except ValueError:
        return None
    return document if isinstance(document, dict) else None


def _details(violations_header: str) -> list[dict[str, Any]]:
    """Prism's violations in the contract's `details` shape: where (without Prism's leading
    "request"), what, and Prism's code for it."""
    details = []
    for violation in json.loads(violations_header):
        location = list(violation.get("location", []))
        if location[:1] == ["request"]:
            location = location[1:]
        details.append(
            {"location": location, "message": violation["message"], "type": violation["code"]}
        )
    return details


def create_front(prism_url: str, cors_origins: list[str]) -> Starlette:
    front = MockFront()

    @asynccontextmanager
    async def lifespan(app: Starlette) -> Any:
        async with httpx.AsyncClient(base_url=prism_url, timeout=30) as client:
            yield {"client": client}

    app = Starlette(
        routes=[Route("/{path:path}", front.forward, methods=METHODS)], lifespan=lifespan
    )
    add_cors(app, cors_origins)
    return app


@contextmanager
def running_prism(prism: str) -> Iterator[str]:
    """Prism on a free loopback port, without CORS of its own; yields its URL once it answers."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = [
        *(prism, "mock", str(CONTRACT), "-h", "127.0.0.1", "-p", str(port)),
        *("--cors=false", "--verboseLevel", "warn"),
    ]
    with child_process(command, cwd=ROOT) as process:
        wait_until_answering(f"{url}/health/live", process, "Prism", STARTUP_TIMEOUT_SECONDS)
        yield url


def _exit_on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prism", required=True, help="the prism executable")
    parser.add_argument("--port", type=int, default=int(os.environ.get("MOCK_PORT", "4010")))
    parser.add_argument(
        "--cors-origin",
        action="append",
        default=None,
        help="an origin to allow (repeat for several); default: CORS_ORIGINS, as the service",
    )
    arguments = parser.parse_args()
    # uvicorn re-raises the SIGTERM that stopped it; as an exception, Prism is stopped too.
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    origins = arguments.cors_origin or [
        origin.strip() for origin in os.environ.get("CORS_ORIGINS", "").split(",") if origin.strip()
    ]
    with running_prism(arguments.prism) as prism_url:
        shown = ", ".join(origins) or "none (set CORS_ORIGINS or --cors-origin)"
        print(
            f"mock server on http://127.0.0.1:{arguments.port}: the contract's examples"
            f" (Prism); CORS origins: {shown}",
            flush=True,
        )
        uvicorn.run(
            create_front(prism_url, origins),
            host="127.0.0.1",
            port=arguments.port,
            log_level="info",
        )


if __name__ == "__main__":
    main()
