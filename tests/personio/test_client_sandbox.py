"""The client against the real sandbox server over HTTP, under every kind of fault."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta

import pytest

from benefitsync.integrations.personio.client import Credentials, PersonioClient
from benefitsync.integrations.personio.errors import (
    AuthenticationError,
    BadRecord,
    RetriableError,
)
from benefitsync.integrations.personio.ratelimit import RateLimiter, Window
from benefitsync.integrations.personio.sandbox import SandboxHandle
from benefitsync.integrations.personio.schemas import PersonioEmployee

EMPLOYEES = 250  # the session sandbox's size (tests/personio/conftest.py)
ClientFactory = Callable[..., PersonioClient]


def fetch_ids(client_factory: ClientFactory, **kwargs: object) -> list[int]:
    client = client_factory(**kwargs)
    records = list(client.iter_employees())
    assert not [r for r in records if isinstance(r, BadRecord)]
    return [r.id for r in records if isinstance(r, PersonioEmployee)]


def test_all_employees_arrive_once_each_in_personio_order(
    sandbox: SandboxHandle, make_client: ClientFactory
) -> None:
    ids = fetch_ids(make_client, max_concurrency=3)
    assert ids == sorted(sandbox.state.employees)
    assert len(ids) == EMPLOYEES


@pytest.mark.parametrize(
    "fault", ["429", "500", "502", "503", "504", "timeout", "reset", "truncated", "revoke_token"]
)
def test_the_listing_survives_each_fault_kind(
    fault: str, sandbox: SandboxHandle, make_client: ClientFactory
) -> None:
    # Twice in a row, so the retry of a retry is exercised too; a revoked token once (twice is
    # the next test).
    times = 1 if fault == "revoke_token" else 2
    sandbox.set_faults(script=[fault] * times, hang_seconds=2)
    client = make_client()
    ids = [r.id for r in client.iter_employees() if isinstance(r, PersonioEmployee)]
    assert sorted(ids) == sorted(sandbox.state.employees)
    assert sandbox.state.stats()["faults"] == {fault: times}
    if fault == "revoke_token":
        assert client.stats.auth_requests == 2
    else:
        assert client.stats.retries == 2


def test_a_fresh_token_refused_again_is_retried_with_another_token(
    sandbox: SandboxHandle, make_client: ClientFactory
) -> None:
    """The auth endpoint accepted the credentials, so they are not what is wrong."""
    sandbox.set_faults(script=["revoke_token", "revoke_token"])
    client = make_client()
    someone = min(sandbox.state.employees)

    assert client.get_employee(someone).id == someone
    assert client.stats.auth_requests == 3


def test_fresh_tokens_refused_until_retries_run_out_fail_as_retriable_not_as_reconnect(
    sandbox: SandboxHandle, make_client: ClientFactory
) -> None:
    sandbox.set_faults(script=["revoke_token"] * 20)
    client = make_client(max_attempts=3)

    with pytest.raises(RetriableError, match="freshly issued token") as raised:
        client.get_employee(min(sandbox.state.employees))
    assert not isinstance(raised.value, AuthenticationError)
    assert raised.value.status == 401


def test_random_faults_of_every_kind_at_once_lose_nobody(
    sandbox: SandboxHandle, make_client: ClientFactory
) -> None:
    sandbox.set_faults(
        seed=11,
        rate_429=0.05,
        rate_500=0.05,
        rate_502=0.03,
        rate_503=0.03,
        rate_504=0.03,
        rate_timeout=0.03,
        rate_reset=0.05,
        rate_truncated=0.05,
        rate_revoke_token=0.03,
        latency_ms=5,
        latency_jitter_ms=10,
        hang_seconds=2,
    )
    for _ in range(3):
        ids = fetch_ids(make_client, max_concurrency=3)
        assert sorted(ids) == sorted(sandbox.state.employees)
    assert sum(sandbox.state.stats()["faults"].values()) > 0


def test_a_server_that_keeps_failing_ends_in_a_retriable_error(
    sandbox: SandboxHandle, make_client: ClientFactory
) -> None:
    sandbox.set_faults(rate_503=1.0)
    with pytest.raises(RetriableError) as info:
        list(make_client(max_attempts=3).iter_employees())
    assert info.value.status == 503


def test_a_hanging_server_times_out_instead_of_hanging_the_client(
    sandbox: SandboxHandle, make_client: ClientFactory
) -> None:
    sandbox.set_faults(rate_timeout=1.0, hang_seconds=5)
    with pytest.raises(RetriableError, match="timeout"):
        make_client(timeout=0.2, max_attempts=2).get_employee(min(sandbox.state.employees))


def test_wrong_credentials_are_an_authentication_error(make_client: ClientFactory) -> None:
    with pytest.raises(AuthenticationError):
        make_client(Credentials("sandbox-client-id", "wrong")).authenticate()


def test_a_deleted_credential_needs_reconnecting(
    sandbox: SandboxHandle, make_client: ClientFactory
) -> None:
    client = make_client()
    client.authenticate()
    sandbox.state.delete_credential(sandbox.client_id)
    with pytest.raises(AuthenticationError):
        client.get_employee(min(sandbox.state.employees))


def test_the_client_limiter_keeps_the_sandbox_from_answering_429(
    sandbox: SandboxHandle, make_client: ClientFactory
) -> None:
    sandbox.state.rate_limit = True
    client = make_client(limiter=RateLimiter.personio_employees())
    ids = sorted(sandbox.state.employees)[:25]

    def fetch(chunk: list[int]) -> None:
        for pid in chunk:
            client.get_employee(pid)

    threads = [threading.Thread(target=fetch, args=(ids[i::4],)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sandbox.state.stats()["rate_limited"] == 0
    assert client.stats.responses.get("429", 0) == 0


def test_without_a_client_limiter_429s_happen_and_are_retried(
    sandbox: SandboxHandle, make_client: ClientFactory
) -> None:
    sandbox.state.rate_limit = True
    client = make_client(limiter=RateLimiter([Window(10_000, 1.0)]), retry_wait_scale=0.3)
    for pid in sorted(sandbox.state.employees)[:20]:
        assert isinstance(client.get_employee(pid), PersonioEmployee)
    assert client.stats.rate_limited >= 1
    assert sandbox.state.stats()["rate_limited"] == client.stats.rate_limited


def test_employees_changing_during_the_listing_are_neither_lost_nor_duplicated(
    sandbox: SandboxHandle, make_client: ClientFactory
) -> None:
    first_ids = sorted(sandbox.state.employees)[:3]
    client = make_client(max_concurrency=1)
    stream = client.iter_employees()
    got = [next(stream).id for _ in range(5)]  # type: ignore[union-attr]
    sandbox.state.delete_employee(first_ids[0])
    new_id = sandbox.state.create_employee({"first_name": "Neu", "last_name": "Person"})
    got += [r.id for r in stream if isinstance(r, PersonioEmployee)]
    assert len(got) == len(set(got))
    assert set(sandbox.state.employees) <= set(got)
    assert new_id in got
    assert client.stats.restarts >= 1


def test_custom_attributes_arrive_by_label(make_client: ClientFactory) -> None:
    client = make_client()
    emp = next(r for r in client.iter_employees() if isinstance(r, PersonioEmployee))
    assert {"Personalnummer", "Verheiratet?", "Probonio Filter"} <= set(emp.custom)
    assert {a.label for a in client.list_attributes()} >= {"Personalnummer", "Probonio Filter"}


def test_a_restricted_credential_sees_only_its_whitelist(
    sandbox: SandboxHandle, make_client: ClientFactory
) -> None:
    cred = sandbox.state.create_credential(["first_name", "email", "Probonio Filter"])
    client = make_client(Credentials(cred.client_id, cred.client_secret))
    emp = next(r for r in client.iter_employees() if isinstance(r, PersonioEmployee))
    assert emp.present == frozenset({"id", "first_name", "email", "Probonio Filter"})
    assert emp.last_name is None and emp.termination_date is None


def test_updated_since_returns_only_changed_employees(
    sandbox: SandboxHandle, make_client: ClientFactory
) -> None:
    target = sorted(sandbox.state.employees)[10]
    # Personio's updated_since has second precision and means "strictly after".
    before = sandbox.state.clock.now() - timedelta(seconds=1)
    sandbox.state.patch_employee(target, {"termination_date": "2026-12-15"})
    records = list(make_client().iter_employees(updated_since=before))
    ids = [r.id for r in records if isinstance(r, PersonioEmployee)]
    assert target in ids
    assert len(ids) < EMPLOYEES


@pytest.mark.parametrize("expected_total", [EMPLOYEES, 10, 5_000, 120])
def test_a_guessed_total_asks_the_first_pages_at_once_and_loses_nobody(
    expected_total: int, sandbox: SandboxHandle, make_client: ClientFactory
) -> None:
    """Right, too small or too large: every employee arrives exactly once, in order."""
    client = make_client(max_concurrency=15)
    records = list(client.iter_employees(expected_total=expected_total))
    ids = [r.id for r in records if isinstance(r, PersonioEmployee)]
    assert ids == sorted(sandbox.state.employees)
    pages = client.stats.requests - client.stats.auth_requests - 1  # minus the attributes call
    needed = -(-(EMPLOYEES - 1) // 99)  # pages of 100 overlapping by one
    guessed = min(14, -(-expected_total // 99))
    assert pages == max(needed, guessed)
