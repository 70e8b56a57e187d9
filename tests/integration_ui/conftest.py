"""Fixtures of the integration page tests: the test process's sandbox server, reset per test, and
settings that point the portal at it with fast retries."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.conf import LazySettings
from huey.contrib.djhuey import HUEY

from benefitsync.companies.models import Company
from benefitsync.integrations.personio import services
from benefitsync.integrations.personio.models import PersonioIntegration
from benefitsync.integrations.personio.sandbox.server import SandboxHandle
from tests.conftest import fresh_sandbox

EMPLOYEES = 30


@pytest.fixture(autouse=True)
def _jobs_inline() -> Iterator[None]:
    """ "Synchronize now" runs the sync inside the request, as a worker would right after."""
    immediate = HUEY.immediate
    HUEY.immediate = True
    yield
    HUEY.immediate = immediate


@pytest.fixture
def sandbox(sandbox_server: SandboxHandle, settings: LazySettings) -> SandboxHandle:
    fresh_sandbox(sandbox_server, employees=EMPLOYEES, seed=5)
    settings.PERSONIO_CLIENT_OPTIONS = {"retry_wait_scale": 0.001, "deadline": 20, "timeout": 5}
    settings.PERSONIO_BASE_URL = sandbox_server.base_url
    return sandbox_server


@pytest.fixture
def connected_a(company_a: Company, sandbox: SandboxHandle) -> PersonioIntegration:
    return services.do_connect_personio(
        company_a,
        client_id=sandbox.client_id,
        client_secret=sandbox.client_secret,
        acting_user=None,
        first_sync=False,
    )
