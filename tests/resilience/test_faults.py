"""Seeded runs with random Personio faults while Personio's data changes.

Every run must end with the database equal to either the state before the run (and a run record
saying it failed) or the fault-free result (what a clean sync from the same state produces),
with no lost or duplicated employee and no duplicate invitation. CI runs a fast subset;
`make soak` (BENEFITSYNC_SOAK=1) runs the full 200 seeds.
"""

from __future__ import annotations

import os
import random
import threading
import time
from typing import Any

import pytest
from django.conf import LazySettings

from benefitsync.companies.models import Company
from benefitsync.employees.models import Employee
from benefitsync.integrations.personio import services
from benefitsync.integrations.personio.models import RunStatus
from benefitsync.integrations.personio.sandbox.server import SandboxHandle
from benefitsync.invitations.models import OutboundEmail
from tests.conftest import fresh_sandbox
from tests.sync.conftest import sync_now

SOAK = os.environ.get("BENEFITSYNC_SOAK") == "1"
SEEDS = range(200) if SOAK else range(12)
EMPLOYEES = 150  # two pages of 100: faults can hit the middle of a listing


@pytest.fixture
def faulty_sandbox(sandbox_server: SandboxHandle) -> SandboxHandle:
    return fresh_sandbox(sandbox_server, employees=EMPLOYEES, seed=0)


@pytest.fixture
def fault_client(settings: LazySettings) -> None:
    # Short timeouts so a hanging request costs a fraction of a second; real retry logic.
    settings.PERSONIO_CLIENT_OPTIONS = {
        "retry_wait_scale": 0.001,
        "timeout": 0.5,
        "deadline": 15,
        "max_attempts": 8,
    }


State = frozenset[tuple[Any, ...]]


def state_of(company: Company) -> State:
    return frozenset(
        Employee.objects.filter(company=company).values_list(
            "personio_id",
            "first_name",
            "last_name",
            "email",
            "status",
            "last_working_month",
            "leaving_date",
            "missing_from_personio",
        )
    )


def mutate(sandbox: SandboxHandle, rng: random.Random) -> None:
    """A few edits as HR would make them: renames, a new hire, a leaver, a deletion."""
    people = [e for e in sandbox.state.list_flat() if e["email"]]
    for e in rng.sample(people, 3):
        sandbox.state.patch_employee(e["id"], {"last_name": e["last_name"] + "-x"})
    sandbox.state.create_employee(
        {
            "first_name": "Neu",
            "last_name": f"Hire{rng.randint(0, 9999)}",
            "email": f"neu{rng.randint(0, 10**9)}@nordlicht-services.de",
        }
    )
    leaver = rng.choice(people)
    sandbox.state.patch_employee(leaver["id"], {"termination_date": "2027-03-31"})
    sandbox.state.delete_employee(rng.choice(people)["id"])


def random_faults(rng: random.Random, seed: int) -> dict[str, Any]:
    return {
        "seed": seed,
        # Mostly survivable rates, now and then a storm the retries cannot ride out.
        "rate_429": rng.choice([0, 0.05, 0.1, 0.6]),
        "rate_500": rng.choice([0, 0.03, 0.1]),
        "rate_502": rng.choice([0, 0.03]),
        "rate_503": rng.choice([0, 0.03, 0.7]),
        "rate_504": rng.choice([0, 0.03]),
        "rate_timeout": rng.choice([0, 0.03, 0.05]),
        "rate_reset": rng.choice([0, 0.03, 0.05]),
        "rate_truncated": rng.choice([0, 0.03, 0.1]),
        "rate_revoke_token": rng.choice([0, 0.02, 0.05]),
        "hang_seconds": 1.0,
        "endpoints": ["employees", "auth"],
    }


def assert_consistent(company: Company) -> None:
    pids = list(
        Employee.objects.filter(company=company, personio_id__isnull=False).values_list(
            "personio_id", flat=True
        )
    )
    assert len(pids) == len(set(pids)), "an employee was duplicated"
    keys = list(OutboundEmail.objects.filter(company=company).values_list("to", flat=True))
    assert len(keys) == len(set(keys)), "an invitation went out twice"


@pytest.mark.slow
@pytest.mark.django_db
def test_every_faulty_run_applies_fully_or_not_at_all(
    faulty_sandbox: SandboxHandle, fault_client: None
) -> None:
    outcomes: dict[str, int] = {}
    for seed in SEEDS:
        rng = random.Random(seed)
        sandbox = faulty_sandbox
        sandbox.set_faults()
        sandbox.reset(employees=EMPLOYEES, seed=seed)
        company = Company.objects.create(name=f"Seed {seed}", slug=f"seed-{seed}")
        services.do_connect_personio(
            company,
            client_id=sandbox.client_id,
            client_secret=sandbox.client_secret,
            base_url=sandbox.base_url,
            acting_user=None,
            first_sync=False,
        )
        services.do_set_auto_invite(company, True, acting_user=None)
        first = sync_now(company)
        assert first.status in (RunStatus.SUCCEEDED, RunStatus.PARTLY_FAILED), first.text
        before = state_of(company)

        mutate(sandbox, rng)
        sandbox.set_faults(**random_faults(rng, seed))
        faulty = sync_now(company)
        after_faulty = state_of(company)
        sandbox.set_faults()
        clean = sync_now(company)
        fault_free = state_of(company)

        outcomes[faulty.status] = outcomes.get(faulty.status, 0) + 1
        context = f"seed {seed}: {faulty.status} {faulty.text!r}"
        if faulty.status == RunStatus.FAILED:
            assert after_faulty == before, context
            assert faulty.text, context
        else:
            assert faulty.status in (RunStatus.SUCCEEDED, RunStatus.PARTLY_FAILED), context
            assert after_faulty == fault_free, context
            assert clean.counts["employees_written"] == 0, context
        assert_consistent(company)
    # The fault mix must really exercise both outcomes over the seeds.
    assert outcomes.get(RunStatus.SUCCEEDED, 0) + outcomes.get(RunStatus.PARTLY_FAILED, 0) > 0
    print(f"fault outcomes over {len(SEEDS)} seeds: {outcomes}")


@pytest.mark.slow
@pytest.mark.django_db
def test_data_changing_while_pages_are_read_loses_and_duplicates_nobody(
    faulty_sandbox: SandboxHandle, fault_client: None
) -> None:
    sandbox = faulty_sandbox
    sandbox.set_faults(latency_ms=20)
    sandbox.reset(employees=EMPLOYEES, seed=99)
    company = Company.objects.create(name="Moving", slug="moving")
    services.do_connect_personio(
        company,
        client_id=sandbox.client_id,
        client_secret=sandbox.client_secret,
        base_url=sandbox.base_url,
        acting_user=None,
        first_sync=False,
    )
    stable = {e["id"] for e in sandbox.state.list_flat()}
    stop = threading.Event()

    def churn() -> None:
        n = 0
        while not stop.is_set():
            # New hires inserted while the listing is read shift every later page.
            new = sandbox.state.create_employee(
                {"first_name": "Mid", "last_name": f"Run{n}", "email": f"mid{n}@nordlicht.de"}
            )
            sandbox.state.delete_employee(new)
            n += 1
            time.sleep(0.005)

    worker = threading.Thread(target=churn, daemon=True)
    worker.start()
    try:
        run = sync_now(company)
    finally:
        stop.set()
        worker.join()
        sandbox.set_faults()
    pids = set(
        Employee.objects.filter(company=company, personio_id__isnull=False).values_list(
            "personio_id", flat=True
        )
    )
    if run.status == RunStatus.FAILED:
        assert pids == set(), run.text  # nothing half-applied
    else:
        skipped = set(run.events.filter(action="skip").values_list("personio_id", flat=True))
        assert stable - skipped <= pids, "an employee present throughout was lost"
    assert_consistent(company)
