"""The service serves exactly the contract: the same operations, and openapi.yaml itself."""

from datetime import timedelta

import httpx
import pytest
from fastapi.routing import APIRoute

from generated.routes import create_router
from impl.auth.claims import ClaimRules
from impl.auth.credentials import Credentials
from impl.auth.shared_secret import SharedSecretAuthenticator
from impl.contract import load_contract
from impl.db.pool import Database, PoolSettings
from impl.db.url import normalize_database_url
from impl.events.api import EventsApi
from impl.events.hub import StreamHub, StreamLimits
from impl.events.listener import ChangeListener
from impl.events.reminders import ReminderClocks
from impl.events.tokens import StreamTokens
from impl.health import HealthApi
from impl.history.api import HistoryApi
from impl.history.repository import HistoryRepository
from impl.lifecycle import Lifecycle
from impl.lists.api import ListsApi
from impl.lists.repository import ListRepository
from impl.lists.service import list_policy
from impl.reminders.api import RemindersApi
from impl.reminders.repository import ReminderRepository
from impl.signing import TokenSigner
from impl.tasks.api import TasksApi
from impl.tasks.repository import TaskRepository
from impl.tasks.service import sync_token_signer, task_policy
from impl.trash.api import TrashApi
from impl.trash.repository import TrashRepository
from impl.trash.service import TrashPolicy
from impl.user_settings.api import SettingsApi
from impl.user_settings.repository import SettingsRepository
from tests.support.contract import Contract

DOCUMENTATION_ROUTES = {("GET", "/openapi.json"), ("GET", "/docs"), ("GET", "/redoc")}


def test_routes_and_contract_list_the_same_operations(contract: Contract) -> None:
    # The pool connects on demand: listing routes never touches a database.
    database_target = normalize_database_url(
        "postgresql://unused@127.0.0.1/unused", connect_timeout_seconds=1
    )
    database = Database(database_target, PoolSettings(size=1, acquire_timeout_seconds=1))
    stream_tokens = StreamTokens("s" * 32, timedelta(seconds=60))
    router = create_router(
        tasks_api=TasksApi(TaskRepository(database), task_policy("s" * 32)),
        lists_api=ListsApi(ListRepository(database), list_policy("s" * 32)),
        settings_api=SettingsApi(SettingsRepository(database)),
        reminders_api=RemindersApi(ReminderRepository(database), TokenSigner("s" * 32, "cursor")),
        history_api=HistoryApi(
            HistoryRepository(database), TaskRepository(database), task_policy("s" * 32)
        ),
        trash_api=TrashApi(
            TrashRepository(database),
            TrashPolicy(timedelta(days=30), 1, 1, TokenSigner("s" * 32, "cursor")),
        ),
        events_api=EventsApi(
            StreamHub(
                StreamLimits(per_user=1, per_worker=1, retry_milliseconds=0, heartbeat_seconds=1),
                sync_token_signer("s" * 32),
                lambda heard, lost: ChangeListener(database_target, heard, lost),
                ReminderClocks(ReminderRepository(database).next_firing),
                None,
            ),
            TaskRepository(database),
            stream_tokens,
            sync_token_signer("s" * 32),
            timedelta(days=30),
            listen_timeout_seconds=1,
        ),
        health_api=HealthApi(database, Lifecycle(drain_seconds=0), migrations=[]),
        authenticator=Credentials(
            SharedSecretAuthenticator("s" * 32, ClaimRules(None, None, 30)), stream_tokens
        ),
    )

    served = {
        (method, route.path_format, route.operation_id)
        for route in router.routes
        if isinstance(route, APIRoute)
        for method in route.methods or ()
    }
    heads = {(path, operation) for method, path, operation in served if method == "HEAD"}
    gets = {(path, operation) for method, path, operation in served if method == "GET"}

    assert {route for route in served if route[0] != "HEAD"} == contract.operations()
    # and HEAD beside every GET, as the contract's description says.
    assert heads == gets


@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "PATCH", "DELETE", "TRACE"])
def test_running_service_routes_exactly_the_contracts_methods(
    http: httpx.Client, contract: Contract, method: str
) -> None:
    for path, item in contract.document["paths"].items():
        concrete = path.replace("{user_id}", "u").replace("{task_id}", "1")

        response = http.request(method, concrete)

        if method.lower() in item:
            # Routed: health answers, and /api answers 401 before anything else without a token.
            assert response.status_code in (200, 401), (method, path)
        else:
            assert response.status_code == 405, (method, path)


def test_openapi_json_is_the_contract(http: httpx.Client) -> None:
    response = http.get("/openapi.json")

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == load_contract()


@pytest.mark.parametrize(("path", "marker"), [("/docs", "swagger-ui"), ("/redoc", "redoc")])
def test_documentation_pages_load_the_served_contract(
    http: httpx.Client, path: str, marker: str
) -> None:
    response = http.get(path)

    assert response.status_code == 200
    assert marker in response.text
    assert "/openapi.json" in response.text


def test_every_operation_declares_the_error_shape_for_every_error(contract: Contract) -> None:
    for method, path, operation_id in contract.operations():
        operation = contract.document["paths"][path][method.lower()]
        for status, response in operation["responses"].items():
            if int(status) < 400:
                continue
            schema = contract.resolve(response)["content"]["application/json"]["schema"]
            assert schema == {"$ref": "#/components/schemas/Error"}, (operation_id, status)


def test_liveness_and_readiness_answer_without_a_token(
    http: httpx.Client, contract: Contract
) -> None:
    for path in ("/health/live", "/health/ready"):
        response = http.get(path)
        contract.assert_conforms(response)
        assert response.json() == {"status": "ok"}


def test_every_response_carries_the_servers_own_request_id(http: httpx.Client) -> None:
    generated = http.get("/health/live").headers["X-Request-ID"]
    offered = http.get("/health/live", headers={"X-Request-ID": "trace-12345678"})

    assert len(generated) == 32
    # The client's id is logged as the correlation id, never put in place of the server's.
    assert offered.headers["X-Request-ID"] != "trace-12345678"
    assert len(offered.headers["X-Request-ID"]) == 32
