"""What the soak saw: each request's latency under its scenario's label, and every surprise.

An error is an answer with another status than the scenario expects (any 5xx among them), a
transport error (refused, reset, timed out), or an expected status whose content contradicts what
the client knows (a version, an ETag, a page that misses a task): each one counts once, against
the label of the request it came from.
"""

import time
from collections import defaultdict
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

# Enough to see a pattern; the counts say how many there were in all.
KEPT_FAILURES = 20
BODY_CHARS = 300


@dataclass(frozen=True)
class Failure:
    label: str
    request: str
    answer: str


@dataclass
class Recorder:
    latencies_ms: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    expected: dict[str, str] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    failures: list[Failure] = field(default_factory=list)

    def answered(self, label: str, expected: Collection[int], milliseconds: float) -> None:
        self.latencies_ms[label].append(milliseconds)
        self.expected.setdefault(label, "|".join(str(status) for status in sorted(expected)))

    def failed(self, label: str, request: str, answer: str) -> None:
        self.errors[label] += 1
        if len(self.failures) < KEPT_FAILURES:
            self.failures.append(Failure(label, request, answer))

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())


class Session:
    """Sends one scenario's requests, times each, and checks its status against the scenario's."""

    def __init__(self, client: httpx.AsyncClient, recorder: Recorder) -> None:
        self.client = client
        self.recorder = recorder

    async def call(
        self,
        label: str,
        expected: int | Collection[int],
        method: str,
        path: str,
        *,
        token: str | None,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
    ) -> httpx.Response | None:
        """The answer when its status is an expected one; None (and an error counted) otherwise."""
        statuses = {expected} if isinstance(expected, int) else set(expected)
        all_headers = dict(headers or {})
        if token is not None:
            all_headers["Authorization"] = f"Bearer {token}"
        started = time.perf_counter()
        try:
            response = await self.client.request(
                method, path, headers=all_headers, params=params, json=json
            )
        except httpx.HTTPError as error:
            answer = f"{type(error).__name__}: {error}"
        else:
            if response.status_code in statuses:
                self.recorder.answered(label, statuses, 1000 * (time.perf_counter() - started))
                return response
            answer = describe_answer(response)
        self.recorder.answered(label, statuses, 1000 * (time.perf_counter() - started))
        request = describe_request(method, path, params, headers, json)
        self.recorder.failed(label, request, answer)
        return None

    def check(self, label: str, holds: bool, what: str, response: httpx.Response) -> bool:
        """An expected status whose content must also hold `what`; counts an error if not."""
        if not holds:
            request = response.request
            self.recorder.failed(
                label,
                f"{request.method} {request.url.raw_path.decode()}",
                f"{what}; got {describe_answer(response)}",
            )
        return holds


def describe_request(
    method: str,
    path: str,
    params: Mapping[str, Any] | None,
    headers: Mapping[str, str] | None,
    body: Any,
) -> str:
    text = f"{method} {httpx.URL(path, params=params)}"
    for name, value in (headers or {}).items():
        text += f" {name}: {value}"
    if body is not None:
        text += f" body {body!r}"
    return text


def describe_answer(response: httpx.Response) -> str:
    etag = response.headers.get("ETag")
    return (
        f"HTTP {response.status_code}"
        + (f" ETag {etag}" if etag else "")
        + f" {response.text[:BODY_CHARS]}"
    )
