"""Prometheus metrics at /metrics: every worker's numbers in one scrape, whichever worker answers.

The service runs as production does (`serve`, two workers); each scrape opens a new connection,
so scrapes land on either worker and must agree.
"""

from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import LOG_DIR, User, new_user, service_settings
from tests.support.contract import Contract
from tests.support.postgres import PostgresServer
from tests.support.server import free_port, running_service
from tests.support.tokens import claims_for, sign, token_for

WORKERS = 2
POOL_SIZE = 3
SCRAPES = 6
TASKS_ROUTE = "/api/{user_id}/tasks"
TASK_ROUTE = "/api/{user_id}/tasks/{task_id}"

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


@pytest.fixture(scope="module")
def metered_service(postgres: PostgresServer) -> Iterator[str]:
    with postgres.fresh_database("taskapi_metrics") as url:
        settings = service_settings(url, API_WORKERS=str(WORKERS), DB_POOL_SIZE=str(POOL_SIZE))
        with running_service(settings, LOG_DIR / "service-metrics.log") as base_url:
            yield base_url


def fresh_connection_get(url: str, headers: dict[str, str] | None = None) -> httpx.Response:
    """A request on a connection of its own, so that any worker may take it."""
    return httpx.get(url, headers=headers, timeout=10)


def scrape(base_url: str) -> Samples:
    response = fresh_connection_get(f"{base_url}/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def auth(user: User) -> dict[str, str]:
    return {"Authorization": f"Bearer {user.token}"}


@dataclass(frozen=True)
class Traffic:
    before: Samples
    after: list[Samples]


@pytest.fixture(scope="module")
def traffic(metered_service: str) -> Traffic:
    """Known requests, each on its own connection, between one scrape and several."""
    base, alice = metered_service, new_user("alice")
    before = scrape(base)
    for _ in range(20):
        assert fresh_connection_get(f"{base}{alice.tasks_path}", auth(alice)).status_code == 200
    for _ in range(3):
        assert fresh_connection_get(f"{base}{alice.tasks_path}").status_code == 401
    expired = sign(claims_for(alice.id, expires_in=-3600))
    refusals = {
        "expired": {"Authorization": f"Bearer {expired}"},
        "signature": {"Authorization": f"Bearer {token_for(alice.id, secret='x' * 48)}"},
        "malformed": {"Authorization": "Bearer not-a-token"},
    }
    for headers in refusals.values():
        assert fresh_connection_get(f"{base}{alice.tasks_path}", headers).status_code == 401
    assert fresh_connection_get(f"{base}/api/{alice.id}/nowhere").status_code == 404
    for task_id in (1, 2):
        missing_task = fresh_connection_get(f"{base}{alice.task_path(task_id)}", auth(alice))
        assert missing_task.status_code == 404
    return Traffic(before, [scrape(base) for _ in range(SCRAPES)])


def increase(traffic: Traffic, after: Samples, name: str, **labels: str) -> float:
    return value(after, name, **labels) - value(traffic.before, name, **labels)


def test_request_counts_per_route_method_and_status_add_up_over_every_worker(
    traffic: Traffic,
) -> None:
    for after in traffic.after:
        count = "taskapi_http_request_duration_seconds_count"
        assert increase(traffic, after, count, route=TASKS_ROUTE, method="GET", status="200") == 20
        assert increase(traffic, after, count, route=TASKS_ROUTE, method="GET", status="401") == 6
        assert increase(traffic, after, count, route="unmatched", method="GET", status="404") == 1


def test_a_task_route_is_labelled_with_the_contracts_path_template(traffic: Traffic) -> None:
    # Starlette matches the route as `{task_id:<convertor>}`; a dashboard queries the contract's
    # spelling, and every series of the route must be found by it.
    count = "taskapi_http_request_duration_seconds_count"
    for after in traffic.after:
        assert increase(traffic, after, count, route=TASK_ROUTE, method="GET", status="404") == 2
        routes = {dict(labels).get("route") for name, labels in after if name == count}
        assert not [route for route in routes if route is not None and ":" in route]


def test_latency_histogram_has_buckets_for_percentiles(traffic: Traffic) -> None:
    after = traffic.after[-1]
    bucket = "taskapi_http_request_duration_seconds_bucket"
    labels = {"route": TASKS_ROUTE, "method": "GET", "status": "200"}
    every = increase(traffic, after, bucket, **labels, le="+Inf")
    within_ten_seconds = increase(traffic, after, bucket, **labels, le="10.0")
    assert every == within_ten_seconds == 20
    total = "taskapi_http_request_duration_seconds_sum"
    assert 0 < increase(traffic, after, total, **labels) < 20 * 10


def test_token_rejections_are_counted_by_reason(traffic: Traffic) -> None:
    after = traffic.after[-1]
    rejections = "taskapi_auth_token_rejections_total"
    assert increase(traffic, after, rejections, reason="missing") == 3
    for reason in ("expired", "signature", "malformed"):
        assert increase(traffic, after, rejections, reason=reason) == 1


def test_statements_are_timed_by_name(traffic: Traffic) -> None:
    after = traffic.after[-1]
    statements = "taskapi_db_statement_duration_seconds_count"
    assert increase(traffic, after, statements, statement="list_tasks", outcome="ok") == 20


def test_pool_gauges_sum_the_workers_and_show_an_idle_pool_at_rest(traffic: Traffic) -> None:
    for after in traffic.after:
        assert value(after, "taskapi_db_pool_max_connections") == WORKERS * POOL_SIZE
        assert 1 <= value(after, "taskapi_db_pool_open_connections") <= WORKERS * POOL_SIZE
        assert value(after, "taskapi_db_pool_checked_out_connections") == 0
        assert value(after, "taskapi_db_pool_waiting_requests") == 0
        # The scrape itself is the one request in flight.
        assert value(after, "taskapi_http_requests_in_flight") == 1


def test_unavailable_answers_are_counted_by_cause(contract: Contract) -> None:
    # Given a service whose database does not listen,
    settings = service_settings(
        f"postgresql://nobody:x@127.0.0.1:{free_port()}/none", MIGRATE_ON_STARTUP="false"
    )
    with running_service(settings, LOG_DIR / "service-metrics-down.log") as base_url:
        alice = new_user("alice")
        # when requests need it,
        for _ in range(2):
            response = httpx.get(f"{base_url}{alice.tasks_path}", headers=auth(alice))
            contract.assert_conforms(response)
            assert response.status_code == 503
        samples = scrape(base_url)

    # then each 503 is counted as the database's, not as a busy pool.
    unavailable = "taskapi_unavailable_responses_total"
    assert value(samples, unavailable, code="service_unavailable") == 2
    assert value(samples, unavailable, code="service_busy") == 0


def test_metrics_can_be_turned_off(postgres: PostgresServer) -> None:
    with postgres.fresh_database("taskapi_no_metrics") as url:
        settings = service_settings(url, METRICS_ENABLED="false")
        with running_service(settings, LOG_DIR / "service-no-metrics.log") as base_url:
            response = httpx.get(f"{base_url}/metrics")

    assert response.status_code == 404
    assert response.json()["error"] == "not_found"
