"""Narrow client edge cases against a fake Personio at the transport (httpx.MockTransport)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from benefitsync.integrations.personio.client import Credentials, PersonioClient, clear_token_cache
from benefitsync.integrations.personio.errors import (
    AuthenticationError,
    BadRecord,
    FatalError,
    NotFoundError,
    RetriableError,
)
from benefitsync.integrations.personio.ratelimit import RateLimiter, Window
from benefitsync.integrations.personio.schemas import PersonioEmployee

CREDS = Credentials("cid", "top-secret")


@pytest.fixture(autouse=True)
def _fresh_tokens() -> Iterator[None]:
    clear_token_cache()
    yield
    clear_token_cache()


def employee(pid: int, **extra: Any) -> dict[str, Any]:
    attrs: dict[str, Any] = {
        "id": {"label": "ID", "value": pid, "type": "integer", "universal_id": "id"},
        "first_name": {"label": "First name", "value": f"E{pid}", "type": "standard"},
    }
    attrs.update(extra)
    return {"type": "Employee", "attributes": attrs}


def page(ids: list[int], total: int, offset: int = 0) -> dict[str, Any]:
    return {
        "success": True,
        "metadata": {
            "total_elements": total,
            "current_page": offset // 100,
            "total_pages": (total + 99) // 100,
        },
        "offset": offset,
        "limit": 100,
        "data": [employee(i) for i in ids],
    }


class FakePersonio:
    """Answers /v1/auth and hands employee requests to `on_get`."""

    def __init__(self, on_get: Callable[[httpx.Request], httpx.Response]) -> None:
        self.on_get = on_get
        self.requests: list[httpx.Request] = []
        self.auth_bodies: list[dict[str, Any]] = []
        self.tokens = iter(f"papi-{n}" for n in range(1000))
        self.auth_status = 200

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.url.path == "/v1/auth":
            self.auth_bodies.append(json.loads(request.content))
            if self.auth_status != 200:
                return httpx.Response(
                    self.auth_status, json={"success": False, "error": {"message": "Wrong"}}
                )
            return httpx.Response(
                200,
                json={"success": True, "data": {"token": next(self.tokens), "expires_in": 86400}},
            )
        if request.url.path == "/v1/company/employees/attributes":
            return httpx.Response(200, json={"success": True, "data": []})
        return self.on_get(request)


def make(fake: FakePersonio, **kwargs: Any) -> PersonioClient:
    options: dict[str, Any] = {
        "base_url": "https://api.personio.test",
        "transport": httpx.MockTransport(fake),
        "retry_wait_scale": 0.0,
        "limiter": RateLimiter([Window(10_000, 1.0)]),
        "max_concurrency": 1,
    }
    options.update(kwargs)
    return PersonioClient(CREDS, **options)


def ok_list(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, json=page([1, 2], 2))


def test_credentials_travel_in_the_body_and_partner_headers_on_every_request() -> None:
    fake = FakePersonio(ok_list)
    with make(fake, partner_id="PROBONIO", app_id="BENEFITSYNC") as client:
        list(client.iter_employees())
    auth = fake.requests[0]
    assert auth.method == "POST" and auth.url.query == b""
    assert fake.auth_bodies == [{"client_id": "cid", "client_secret": "top-secret"}]
    for request in fake.requests:
        assert request.headers["X-Personio-Partner-ID"] == "PROBONIO"
        assert request.headers["X-Personio-App-ID"] == "BENEFITSYNC"
        assert "top-secret" not in str(request.url)


def test_partner_ids_must_be_upper_snake_case() -> None:
    with pytest.raises(ValueError, match="UPPER_SNAKE_CASE"):
        PersonioClient(CREDS, app_id="benefitsync-app")


def test_the_secret_never_shows_in_repr() -> None:
    assert "top-secret" not in repr(CREDS)


def test_the_token_is_cached_per_credential_across_clients() -> None:
    fake = FakePersonio(ok_list)
    with make(fake) as first, make(fake) as second:
        list(first.iter_employees())
        list(second.iter_employees())
    assert len(fake.auth_bodies) == 1
    assert {r.headers.get("authorization") for r in fake.requests[1:]} == {"Bearer papi-0"}


def test_a_401_re_authenticates_once_and_then_succeeds() -> None:
    def on_get(request: httpx.Request) -> httpx.Response:
        if request.headers["authorization"] == "Bearer papi-0":
            return httpx.Response(401, json={"success": False, "error": {"code": 401}})
        return ok_list(request)

    fake = FakePersonio(on_get)
    with make(fake) as client:
        assert [r.id for r in client.iter_employees() if isinstance(r, PersonioEmployee)] == [1, 2]
    assert len(fake.auth_bodies) == 2


def test_fresh_tokens_refused_on_every_attempt_end_as_retriable_not_as_reconnect() -> None:
    """Each attempt gets a token and one fresh one; the auth endpoint accepts the credentials
    every time, so nothing says they are wrong."""
    fake = FakePersonio(lambda r: httpx.Response(401, json={"success": False}))
    with make(fake, max_attempts=3) as client, pytest.raises(RetriableError) as raised:
        client.get_employee(1)
    assert not isinstance(raised.value, AuthenticationError)
    assert len(fake.auth_bodies) == 4  # the first token, then a fresh one per attempt


def test_wrong_credentials_fail_authenticate_with_an_authentication_error() -> None:
    fake = FakePersonio(ok_list)
    fake.auth_status = 401
    with make(fake) as client, pytest.raises(AuthenticationError, match="Wrong"):
        client.authenticate()


def test_the_first_wait_after_a_429_is_at_least_one_second_and_jittered() -> None:
    answers = iter([429, 429, 200])

    def on_get(request: httpx.Request) -> httpx.Response:
        status = next(answers)
        return ok_list(request) if status == 200 else httpx.Response(429)

    slept: list[float] = []
    no_sleep_limiter = RateLimiter([Window(10_000, 1.0)], sleep=lambda s: None)
    fake = FakePersonio(on_get)
    with make(fake, retry_wait_scale=1.0, sleep=slept.append, limiter=no_sleep_limiter) as c:
        assert len(list(c.iter_employees())) == 2
        assert c.stats.rate_limited == 2 and c.stats.retries == 2
    assert len(slept) == 2
    assert all(1.0 <= s <= 1.5 for s in slept)


def test_server_errors_are_retried_then_reported_as_retriable() -> None:
    fake = FakePersonio(lambda r: httpx.Response(503, text="maintenance"))
    with make(fake, max_attempts=4) as client, pytest.raises(RetriableError) as info:
        client.get_employee(1)
    assert info.value.status == 503
    assert len([r for r in fake.requests if r.url.path.endswith("/1")]) == 4


def test_retries_stop_at_the_deadline() -> None:
    slept: list[float] = []
    fake = FakePersonio(lambda r: httpx.Response(500))
    with (
        make(fake, retry_wait_scale=10.0, deadline=5.0, sleep=slept.append) as client,
        pytest.raises(RetriableError),
    ):
        client.get_employee(1)
    assert sum(slept) < 5.0


def test_broken_json_is_retried() -> None:
    answers = iter([b'{"success": tr', None])

    def on_get(request: httpx.Request) -> httpx.Response:
        body = next(answers)
        return httpx.Response(200, content=body) if body else ok_list(request)

    with make(FakePersonio(on_get)) as client:
        assert len(list(client.iter_employees())) == 2
        assert client.stats.retries == 1


def test_connection_errors_are_retried() -> None:
    calls = iter([True, False])

    def on_get(request: httpx.Request) -> httpx.Response:
        if next(calls):
            raise httpx.ReadError("connection reset by peer")
        return ok_list(request)

    with make(FakePersonio(on_get)) as client:
        assert len(list(client.iter_employees())) == 2
        assert client.stats.transport_errors == 1


def test_a_missing_employee_is_not_found_and_a_403_is_fatal() -> None:
    with (
        make(FakePersonio(lambda r: httpx.Response(404, json={}))) as client,
        pytest.raises(NotFoundError),
    ):
        client.get_employee(5)
    with (
        make(FakePersonio(lambda r: httpx.Response(403, json={}))) as client,
        pytest.raises(FatalError),
    ):
        list(client.iter_employees())


def test_a_malformed_record_is_reported_and_the_rest_go_on() -> None:
    bad = employee(2, hire_date={"label": "Hire date", "value": "31.02.2020", "type": "date"})

    def on_get(request: httpx.Request) -> httpx.Response:
        body = page([1, 3], 3)
        body["data"].insert(1, bad)
        return httpx.Response(200, json=body)

    with make(FakePersonio(on_get)) as client:
        records = list(client.iter_employees())
    assert [type(r).__name__ for r in records] == [
        "PersonioEmployee",
        "BadRecord",
        "PersonioEmployee",
    ]
    assert isinstance(records[1], BadRecord) and records[1].personio_id == 2


def test_an_echoed_token_replaces_the_cached_one() -> None:
    def on_get(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=page([1], 1), headers={"Authorization": "Bearer papi-new"})

    fake = FakePersonio(on_get)
    with make(fake) as client:
        list(client.iter_employees())
        client.get_employee(1)
    assert fake.requests[-1].headers["authorization"] == "Bearer papi-new"


class ShiftingList:
    """Serves ids by offset; `mutate(n)` runs before the n-th list request (1-based)."""

    def __init__(self, ids: list[int], mutations: dict[int, Callable[[list[int]], None]]) -> None:
        self.ids = ids
        self.mutations = mutations
        self.calls = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.calls += 1
        if self.calls in self.mutations:
            self.mutations[self.calls](self.ids)
        offset = int(request.url.params["offset"])
        limit = int(request.url.params["limit"])
        return httpx.Response(200, json=page(self.ids[offset : offset + limit], len(self.ids)))


def test_an_employee_deleted_mid_listing_causes_a_restart_that_loses_and_repeats_nobody() -> None:
    ids = list(range(1, 251))
    server = ShiftingList(ids, {2: lambda ids: ids.remove(50)})  # page 2 sees everyone shifted
    with make(FakePersonio(server)) as client:
        got = [r.id for r in client.iter_employees() if isinstance(r, PersonioEmployee)]
        assert client.stats.restarts == 1
    assert len(got) == len(set(got))
    # Employee 50 was delivered before the delete; employee 101 (shifted to offset 99) was not
    # lost: the restart found it.
    assert set(got) == set(range(1, 251))


def test_a_delete_plus_create_that_keeps_the_total_is_still_detected() -> None:
    ids = list(range(1, 251))

    def swap(ids: list[int]) -> None:
        ids.remove(10)
        ids.append(999)

    server = ShiftingList(ids, {2: swap})
    with make(FakePersonio(server)) as client:
        got = [r.id for r in client.iter_employees() if isinstance(r, PersonioEmployee)]
        assert client.stats.restarts == 1
    assert len(got) == len(set(got))
    assert set(range(11, 251)) | {999} <= set(got)


def test_a_list_that_never_settles_ends_in_a_retriable_error() -> None:
    ids = list(range(1, 251))
    counter = iter(range(10_000, 20_000))
    server = ShiftingList(ids, {n: lambda ids: ids.insert(0, next(counter)) for n in range(1, 50)})
    with make(FakePersonio(server), max_restarts=2) as client, pytest.raises(RetriableError):
        list(client.iter_employees())


def test_pages_fetched_concurrently_are_yielded_in_order() -> None:
    ids = list(range(1, 1001))
    with make(FakePersonio(ShiftingList(ids, {})), max_concurrency=4) as client:
        got = [r.id for r in client.iter_employees() if isinstance(r, PersonioEmployee)]
    assert got == ids


def test_updated_since_is_sent_in_personio_local_time() -> None:
    from datetime import UTC, datetime

    seen: list[str] = []

    def on_get(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.params["updated_since"])
        return ok_list(request)

    with make(FakePersonio(on_get)) as client:
        list(client.iter_employees(updated_since=datetime(2026, 7, 1, 6, 0, tzinfo=UTC)))
    assert seen == ["2026-07-01T08:00:00"]
