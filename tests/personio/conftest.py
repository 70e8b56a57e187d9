"""Fixtures for the Personio client and sandbox tests.

One real sandbox server (uvicorn over loopback HTTP) serves the whole module set; every test gets
it freshly reset (employees, credentials, faults, clock, stats) through the `sandbox` fixture.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date
from typing import Any

import pytest

from benefitsync.integrations.personio.client import Credentials, PersonioClient, clear_token_cache
from benefitsync.integrations.personio.sandbox import SandboxHandle, running_sandbox

TODAY = date(2026, 11, 24)
EMPLOYEES = 250  # three pages of 100


@pytest.fixture(scope="session")
def sandbox_server() -> Iterator[SandboxHandle]:
    with running_sandbox(employees=EMPLOYEES, seed=7, today=TODAY) as handle:
        yield handle


@pytest.fixture
def sandbox(sandbox_server: SandboxHandle) -> SandboxHandle:
    """The shared sandbox, reset to its start state (no faults, no rate limit, fixed today)."""
    sandbox_server.reset()
    clear_token_cache()
    return sandbox_server


ClientFactory = Callable[..., PersonioClient]


@pytest.fixture
def make_client(sandbox: SandboxHandle) -> Iterator[ClientFactory]:
    """Build clients against the sandbox with test-sized timeouts and back-offs."""
    clients: list[PersonioClient] = []

    def factory(credentials: Credentials | None = None, **kwargs: Any) -> PersonioClient:
        options: dict[str, Any] = {
            "base_url": sandbox.base_url,
            "timeout": 0.5,
            "deadline": 20.0,
            "retry_wait_scale": 0.01,
            "max_attempts": 10,
        }
        options.update(kwargs)
        client = PersonioClient(
            credentials or Credentials(sandbox.client_id, sandbox.client_secret), **options
        )
        clients.append(client)
        return client

    yield factory
    for client in clients:
        client.close()
