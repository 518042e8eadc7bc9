"""A request the graceful shutdown's bound cancels is answered 503 by the request-context
middleware, and its task then carries no cancellation: asyncio asks code that swallows one to
withdraw it (`Task.uncancel`), or a timeout around it in the same task takes its own expiry for a
cancellation from outside."""

import asyncio

from starlette.types import Message, Receive, Scope, Send

from impl.lifecycle import Lifecycle
from impl.middleware import RequestContextMiddleware
from impl.observability.observer import Observer

WAIT_SECONDS = 5


async def hanging_app(scope: Scope, receive: Receive, send: Send) -> None:
    await asyncio.Event().wait()


async def request_cancelled(*, app_stopped: bool) -> tuple[list[Message], bool, int]:
    """A request that never ends, cancelled as uvicorn cancels one once its bound is over: what
    was sent, whether the task ended cancelled, and the cancellations pending once it answered."""
    lifecycle = Lifecycle(drain_seconds=0)
    if app_stopped:
        with lifecycle.watching_signals():
            pass  # the app's lifetime is over: what still runs is cut short by the bound
    sent: list[Message] = []
    entered = asyncio.Event()

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        entered.set()
        await hanging_app(scope, receive, send)

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    async def serve() -> int:
        scope: Scope = {"type": "http", "method": "PATCH", "path": "/api/u/tasks/1", "headers": []}
        await RequestContextMiddleware(app, Observer(None, None, None), lifecycle)(
            scope, receive, send
        )
        task = asyncio.current_task()
        assert task is not None
        return task.cancelling()

    request = asyncio.create_task(serve())
    async with asyncio.timeout(WAIT_SECONDS):
        await entered.wait()
    request.cancel()
    await asyncio.wait([request], timeout=WAIT_SECONDS)
    if request.cancelled():
        return sent, True, 0
    return sent, False, request.result()


def test_a_request_the_shutdown_cut_short_is_answered_and_its_task_is_no_longer_cancelled() -> None:
    sent, cancelled, pending_cancellations = asyncio.run(request_cancelled(app_stopped=True))

    assert not cancelled
    assert [message["type"] for message in sent] == ["http.response.start", "http.response.body"]
    assert sent[0]["status"] == 503
    assert pending_cancellations == 0


def test_a_request_cancelled_while_the_app_serves_stays_cancelled() -> None:
    sent, cancelled, _ = asyncio.run(request_cancelled(app_stopped=False))

    assert cancelled
    assert sent == []
