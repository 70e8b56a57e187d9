"""Fixtures for the Personio client and sandbox tests.

The test process's one sandbox server (`tests/conftest.py`) serves them; every test gets it freshly
reset (employees, credentials, faults, clock, stats) through the `sandbox` fixture.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date
from typing import Any

import pytest
from tests.conftest import fresh_sandbox

from benefitsync.integrations.personio.client import Credentials, PersonioClient
from benefitsync.integrations.personio.sandbox import SandboxHandle

TODAY = date(2026, 11, 24)
EMPLOYEES = 250  # three pages of 100


@pytest.fixture
def sandbox(sandbox_server: SandboxHandle) -> SandboxHandle:
    """The shared sandbox, reset to its start state (no faults, no rate limit, fixed today)."""
    return fresh_sandbox(sandbox_server, employees=EMPLOYEES, seed=7, today=TODAY)


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
