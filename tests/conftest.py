"""Shared fixtures: two companies, the personas of the persona tests, and the Personio sandbox.

- `company_a`, `company_b`: two tenants;
- `hr_a`, `hr_b`: HR admins of A and of B;
- `employee_a`: a user linked to an Employee of A (`employee_a.employee`);
- `support`: platform support staff (uses the back office);
- `client_for(persona)`: a test client logged in as that user (None: anonymous);
- `sandbox_server`: ONE real sandbox server (uvicorn over loopback HTTP, in a thread) per test
  process; each area's `sandbox` fixture hands it out freshly reset with `fresh_sandbox(...)`
  (its own size, seed and today), instead of starting a server per test or module.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
from collections.abc import Callable, Iterator
from typing import Any

# Read by benefitsync.settings when it is imported after this file (subprocesses started by tests,
# tools that import the conftest first). pytest-django itself loads the settings before any
# conftest, so the password hasher is also set per test by `_fast_password_hasher` below; Huey
# suites switch `HUEY.immediate` themselves where they need it.
os.environ.setdefault("BENEFITSYNC_FAST_PASSWORD_HASHER", "true")
os.environ.setdefault("EMAIL_BACKEND", "django.core.mail.backends.locmem.EmailBackend")
os.environ.setdefault("HUEY_IMMEDIATE", "true")
os.environ.setdefault("BENEFITSYNC_PERSONIO_WEBHOOKS", "false")

import pytest
from django.conf import LazySettings
from django.test import Client

from benefitsync.accounts.models import User
from benefitsync.companies.models import Company
from benefitsync.integrations.personio.client import clear_token_cache
from benefitsync.integrations.personio.sandbox.server import SandboxHandle, running_sandbox
from tests.factories import make_company, make_employee, make_hr_admin, make_user

ClientFor = Callable[[User | None], Client]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The tests marked `slow` run first (a stable sort: each group keeps its order). On the two
    workers of `make test` (`--dist worksteal`) the longest test then starts at once beside the
    short ones, which the other worker takes over; collected in place, the kill -9 test started
    late and ran alone at the end of a pass for 40-100 s."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


@pytest.fixture(autouse=True)
def _fast_password_hasher(settings: LazySettings) -> None:
    # PBKDF2 costs ~0.3 s per user; the persona tests create five users per test.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _webhooks_where_asked(settings: LazySettings) -> None:
    # Connecting registers a webhook at the sandbox, which then POSTs every change to the
    # portal's address: only the tests of events (tests/sync/test_events.py, which switch this
    # on) have a portal listening there. Everywhere else a company uses the delta sync.
    settings.PERSONIO_WEBHOOKS = False


@pytest.fixture
def company_a(db: None) -> Company:
    return make_company("Alpha GmbH", slug="alpha")


@pytest.fixture
def company_b(db: None) -> Company:
    return make_company("Beta AG", slug="beta")


@pytest.fixture
def hr_a(company_a: Company) -> User:
    return make_hr_admin(company_a, email="hr@alpha.example")


@pytest.fixture
def hr_b(company_b: Company) -> User:
    return make_hr_admin(company_b, email="hr@beta.example")


@pytest.fixture
def employee_a(company_a: Company) -> User:
    user = make_user("anna@alpha.example")
    make_employee(
        company_a, first_name="Anna", last_name="Alpha", email="anna@alpha.example", user=user
    )
    return user


@pytest.fixture
def support(db: None) -> User:
    return make_user("support@benefitsync.example", is_staff=True, is_superuser=True)


@pytest.fixture
def client_for(db: None) -> ClientFor:
    """`client_for(user)` logs `user` in on a fresh client; `client_for(None)` is anonymous."""

    def make(user: User | None) -> Client:
        client = Client()
        if user is not None:
            client.force_login(user)
        return client

    return make


# --- no network call and no e-mail while a transaction is open -------------------------------
# On SQLite an open write transaction locks every tenant's writes for as long as the call takes
# (a Connect against a slow Personio once blocked the whole portal). Every test fails when code
# talks to Personio over HTTP or sends an e-mail inside `transaction.atomic` — the test case's
# own wrapping transaction (pytest-django's `db`) does not count.


class IOInTransaction(AssertionError):
    pass


def _open_transactions() -> list[str]:
    from django.db import connections

    return [
        alias
        for alias in connections
        if connections[alias].in_atomic_block
        and any(
            not getattr(block, "_from_testcase", False)
            for block in connections[alias].atomic_blocks
        )
    ]


def _refuse_in_transaction(what: str) -> None:
    open_ = _open_transactions()
    if open_:
        raise IOInTransaction(f"{what} while a database transaction is open ({', '.join(open_)})")


@pytest.fixture(autouse=True)
def _no_io_in_transactions(monkeypatch: pytest.MonkeyPatch) -> None:
    import httpx
    from django.core.mail import EmailMessage

    for transport in (httpx.HTTPTransport, httpx.MockTransport):
        original = transport.handle_request

        def guarded(self: Any, request: Any, _original: Any = original) -> Any:
            _refuse_in_transaction(f"HTTP request {request.method} {request.url.path}")
            return _original(self, request)

        monkeypatch.setattr(transport, "handle_request", guarded)
    send = EmailMessage.send

    def guarded_send(self: EmailMessage, fail_silently: bool = False) -> int:
        _refuse_in_transaction(f"E-mail {self.subject!r}")
        return send(self, fail_silently)

    monkeypatch.setattr(EmailMessage, "send", guarded_send)


@pytest.fixture(scope="session")
def sandbox_server() -> Iterator[SandboxHandle]:
    """The test process's one sandbox server; use it through `fresh_sandbox`."""
    with running_sandbox(employees=0) as handle:
        yield handle


def stop_deliveries(server: SandboxHandle) -> None:
    """No webhook delivery leaves `server` any more: its webhooks and pending deliveries are
    gone and what was in flight has landed (a live server must not get one after its test)."""
    with server.state.lock:
        server.state.webhooks.clear()
    server.state.dispatcher.clear()
    server.wait_for_deliveries()


def fresh_sandbox(
    server: SandboxHandle, *, employees: int, seed: int, today: dt.date | None = None
) -> SandboxHandle:
    """`server` reset to a start state of its own: `employees` generated from `seed` as of
    `today` (None: the real date), only the default credential, no faults, no rate limit, zero
    stats; and no client token cached for it (the reset revoked them all)."""
    state = server.state
    # The start configuration is what `reset` returns to; today is part of it (the data is
    # generated relative to it), so it is set before the reset generates the employees.
    state.start_config = dataclasses.replace(state.start_config, today=today)
    server.reset(employees=employees, seed=seed)
    clear_token_cache()
    return server
