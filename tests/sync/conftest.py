from __future__ import annotations

from typing import Any

import pytest
from django.conf import LazySettings

from benefitsync.companies.models import Company
from benefitsync.integrations.personio import services
from benefitsync.integrations.personio.models import PersonioIntegration, SyncRun
from benefitsync.integrations.personio.sandbox.server import SandboxHandle
from benefitsync.integrations.personio.sandbox.state import Credential
from benefitsync.integrations.personio.sync import execute_run, request_sync
from tests.conftest import fresh_sandbox


@pytest.fixture
def fast_client(settings: LazySettings) -> None:
    # Real retries and limiter, with waits shrunk so fault tests take milliseconds.
    settings.PERSONIO_CLIENT_OPTIONS = {"retry_wait_scale": 0.001, "deadline": 20, "timeout": 5}


@pytest.fixture
def sandbox(sandbox_server: SandboxHandle, fast_client: None) -> SandboxHandle:
    """The test process's sandbox server, reset to 40 employees of seed 3 (a server per test
    cost ~0.3 s each, 50 times)."""
    return fresh_sandbox(sandbox_server, employees=40, seed=3)


@pytest.fixture
def company(db: Any) -> Company:
    return Company.objects.create(name="Nordlicht GmbH", slug="nordlicht")


def connect(
    company: Company,
    sandbox: SandboxHandle,
    *,
    credential: Credential | None = None,
    **options: Any,
) -> PersonioIntegration:
    """Connect `company` to `sandbox` as an HR admin would (no first sync unless asked), with
    the sandbox's default credential or `credential`."""
    return services.do_connect_personio(
        company,
        client_id=credential.client_id if credential else sandbox.client_id,
        client_secret=credential.client_secret if credential else sandbox.client_secret,
        base_url=sandbox.base_url,
        acting_user=None,
        **({"first_sync": False} | options),
    )


def cli_connect(company: Company, sandbox: SandboxHandle, *options: str) -> None:
    """`benefitsync personio connect SLUG` against `sandbox`, with `options` appended."""
    from django.core.management import call_command

    call_command(
        "personio",
        "connect",
        company.slug,
        "--client-id",
        sandbox.client_id,
        "--client-secret",
        sandbox.client_secret,
        "--base-url",
        sandbox.base_url,
        *options,
    )


@pytest.fixture
def connected(company: Company, sandbox: SandboxHandle) -> PersonioIntegration:
    return connect(company, sandbox)


def empty_personio(sandbox: SandboxHandle) -> None:
    """Personio delivers nobody any more (the mass change the hold guard is for)."""
    for e in sandbox.state.list_flat():
        sandbox.state.delete_employee(e["id"])


def sync_now(company: Company, trigger: str = "manual") -> SyncRun:
    """Queue and execute a run in this process, as a worker would."""
    run = request_sync(company, trigger, enqueue=False)
    return execute_run(run.pk)
