"""The edges where the sync once broke (each test failed before its fix):

- a GDPR deletion undone by the next sync;
- auto-invite crashing once new employees span more than one chunk;
- a run that fails for a reason other than Personio staying "running";
- held runs piling up, and a held plan applied under a changed filter;
- one bad record of a known employee hiding behind "1 errors";
- Connect syncing before the admin chose auto-invite;
- the README's command-line sequence without a worker.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse

import benefitsync.integrations.personio.sync.apply as apply_step
import benefitsync.integrations.personio.sync.plan as plan_step
from benefitsync.audit.models import AuditEvent
from benefitsync.companies.models import Company
from benefitsync.employees import services as employee_services
from benefitsync.employees.models import Employee, ErasedPerson
from benefitsync.integrations.personio import services, sync
from benefitsync.integrations.personio.models import (
    PersonioIntegration,
    RunStatus,
    SyncEvent,
    SyncRun,
)
from benefitsync.integrations.personio.sandbox.server import SandboxHandle, running_sandbox
from benefitsync.invitations.models import Invitation, OutboundEmail
from tests.factories import make_hr_admin
from tests.sync.conftest import cli_connect, connect, empty_personio, sync_now

pytestmark = pytest.mark.django_db(transaction=True)


def linked(company: Company) -> Employee:
    return Employee.objects.filter(company=company, personio_id__isnull=False).order_by("pk")[0]


# --- 1. a GDPR deletion sticks --------------------------------------------------------------------


def test_an_erased_employee_is_never_created_or_invited_again_by_any_number_of_syncs(
    company: Company, connected: PersonioIntegration, sandbox: SandboxHandle
) -> None:
    services.do_set_auto_invite(company, True, acting_user=None)
    sync_now(company)
    person = Employee.objects.filter(company=company, personio_id__isnull=False).exclude(email="")[
        0
    ]
    pid, email = person.personio_id, person.email
    assert pid is not None
    employee_services.do_delete_employee(person, acting_user=None)
    mails_after_delete = OutboundEmail.objects.count()

    for _ in range(3):
        run = sync_now(company)
        assert not Employee.objects.filter(company=company, personio_id=pid).exists()
        (event,) = SyncEvent.objects.filter(run=run, personio_id=pid)
        assert (event.action, event.code, event.error) == ("skip", "deleted_in_portal", False)
        assert event.params == {"date": employee_services.company_today(company).isoformat()}
    assert OutboundEmail.objects.count() == mails_after_delete
    assert not OutboundEmail.objects.filter(to__iexact=email).exists()


def test_the_erasure_mark_keeps_no_personal_data(
    company: Company, connected: PersonioIntegration, sandbox: SandboxHandle
) -> None:
    sync_now(company)
    person = linked(company)
    employee_services.do_delete_employee(person, acting_user=None)
    (mark,) = ErasedPerson.objects.filter(company=company)
    stored = f"{mark.digest} {mark.erased_on}"
    for value in (str(person.personio_id), person.email, person.last_name):
        assert value and value.lower() not in stored.lower()


def test_hr_can_allow_an_erased_person_again_and_the_next_sync_creates_them(
    company: Company, connected: PersonioIntegration, sandbox: SandboxHandle
) -> None:
    sync_now(company)
    pid = linked(company).personio_id
    assert pid is not None
    employee_services.do_delete_employee(linked(company), acting_user=None)
    sync_now(company)
    assert not Employee.objects.filter(company=company, personio_id=pid).exists()

    assert employee_services.do_allow_personio_id_again(company, pid, acting_user=None)
    sync_now(company)
    assert Employee.objects.filter(company=company, personio_id=pid).exists()
    assert AuditEvent.objects.filter(action="employee.erasure_lifted").count() == 1
    assert not employee_services.do_allow_personio_id_again(company, pid, acting_user=None)


def test_an_erasure_in_one_company_blocks_nobody_in_another(
    company: Company, connected: PersonioIntegration, sandbox: SandboxHandle
) -> None:
    other = Company.objects.create(name="Suedwind GmbH", slug="suedwind")
    connect(other, sandbox)
    sync_now(company)
    pid = linked(company).personio_id
    employee_services.do_delete_employee(linked(company), acting_user=None)
    sync_now(other)
    assert Employee.objects.filter(company=other, personio_id=pid).exists()


# --- 2. auto-invite across chunks -----------------------------------------------------------------


@pytest.mark.parametrize("chunk", [1, 3, 1000])
def test_every_new_eligible_employee_gets_exactly_one_invitation_whatever_the_chunk_size(
    company: Company,
    connected: PersonioIntegration,
    sandbox: SandboxHandle,
    monkeypatch: pytest.MonkeyPatch,
    chunk: int,
) -> None:
    monkeypatch.setattr(plan_step, "CHUNK_SIZE", chunk)
    services.do_set_auto_invite(company, True, acting_user=None)
    run = sync_now(company)
    assert run.status in (RunStatus.SUCCEEDED, RunStatus.PARTLY_FAILED), run.text
    eligible = Employee.objects.filter(company=company, status="active").exclude(email="")
    assert eligible.count() > 20
    invited = list(Invitation.objects.values_list("employee_id", flat=True))
    assert sorted(invited) == sorted(eligible.values_list("pk", flat=True))
    assert run.counts["invited"] == len(invited)
    assert SyncEvent.objects.filter(run=run, action="invite", employee__isnull=True).count() == 0
    sync_now(company)
    assert Invitation.objects.count() == len(invited)


@pytest.mark.slow
def test_a_company_of_2500_new_employees_with_auto_invite_imports_and_invites_each_once(
    db: Any, fast_client: None
) -> None:
    company = Company.objects.create(name="Gross GmbH", slug="gross")
    with running_sandbox(employees=2500, seed=5) as big:
        connect(company, big, auto_invite=True)
        run = sync_now(company)
    assert run.status in (RunStatus.SUCCEEDED, RunStatus.PARTLY_FAILED), run.text
    assert run.counts["created"] > 2000
    eligible = Employee.objects.filter(company=company, status="active").exclude(email="")
    assert Invitation.objects.count() == eligible.count() == run.counts["invited"]
    assert OutboundEmail.objects.count() == eligible.count()


# --- 4. a crash ends the run ----------------------------------------------------------------------


def test_a_run_that_crashes_outside_personio_ends_failed_frees_the_company_and_counts(
    company: Company,
    connected: PersonioIntegration,
    sandbox: SandboxHandle,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("a bug in the apply step")

    monkeypatch.setattr(apply_step, "_write", broken)
    run = sync_now(company)
    assert run.status == RunStatus.FAILED
    assert run.note == {"code": "internal_error", "params": {"detail": "RuntimeError"}}
    assert "RuntimeError" in run.text
    assert SyncRun.objects.get(pk=run.pk).status == RunStatus.FAILED
    assert not Employee.objects.filter(company=company).exists()  # nothing half-applied
    connected.refresh_from_db()
    assert connected.consecutive_failures == 1
    monkeypatch.undo()
    again = sync_now(company)  # the company is free at once, not after the lease
    assert again.status in (RunStatus.SUCCEEDED, RunStatus.PARTLY_FAILED)
    connected.refresh_from_db()
    assert connected.consecutive_failures == 0


# --- 5. held runs: the newest plan wins -----------------------------------------------------------


def held_run(company: Company, sandbox: SandboxHandle) -> SyncRun:
    empty_personio(sandbox)
    run = sync_now(company)
    assert run.status == RunStatus.HELD
    return run


def test_a_new_synchronization_replaces_a_held_one_so_only_one_decision_waits(
    company: Company, connected: PersonioIntegration, sandbox: SandboxHandle
) -> None:
    sync_now(company)
    first = held_run(company, sandbox)
    second = sync_now(company)
    assert second.status == RunStatus.HELD
    first.refresh_from_db()
    assert first.status == RunStatus.DISCARDED
    assert first.note == {"code": "discarded_superseded", "params": {"run": second.pk}}
    assert not first.applied
    assert list(SyncRun.objects.filter(status=RunStatus.HELD)) == [second]


def test_an_applied_run_discards_an_older_held_plan(
    company: Company, connected: PersonioIntegration, sandbox: SandboxHandle
) -> None:
    sync_now(company)
    held = held_run(company, sandbox)
    sandbox.state.reset(employees=40, seed=3)  # Personio delivers everyone again
    applied = sync_now(company)
    assert applied.applied
    held.refresh_from_db()
    assert held.status == RunStatus.DISCARDED


def test_a_held_plan_made_under_another_company_filter_cannot_be_confirmed(
    company: Company, connected: PersonioIntegration, sandbox: SandboxHandle
) -> None:
    sync_now(company)
    held = held_run(company, sandbox)
    services.do_set_company_filter(company, email_domains=["elsewhere.example"], acting_user=None)
    with pytest.raises(sync.PlanOutdated):
        sync.confirm_held(held, acting_user=None)
    held.refresh_from_db()
    assert held.status == RunStatus.HELD
    assert not Employee.objects.filter(company=company, missing_from_personio=True).exists()


def test_a_held_plan_made_under_older_credentials_cannot_be_confirmed(
    company: Company, connected: PersonioIntegration, sandbox: SandboxHandle
) -> None:
    sync_now(company)
    held = held_run(company, sandbox)
    connect(company, sandbox)
    with pytest.raises(sync.PlanOutdated):
        sync.confirm_held(held, acting_user=None)


# --- 6. a bad record of a known employee shows on that employee -----------------------------------


def test_a_bad_record_of_a_known_employee_names_them_and_shows_on_their_page_until_fixed(
    company: Company, connected: PersonioIntegration, sandbox: SandboxHandle, client_for: Any
) -> None:
    sync_now(company)
    person = Employee.objects.filter(company=company, status="active", personio_id__isnull=False)[0]
    sandbox.state.patch_employee(
        person.personio_id, {"hire_date": "2026-12-01", "termination_date": "2026-11-30"}
    )
    run = sync_now(company)
    assert run.status == RunStatus.PARTLY_FAILED
    (event,) = SyncEvent.objects.filter(run=run, error=True)
    assert event.employee_id == person.pk
    assert event.who == person.full_name
    assert event.code == "hire_after_leaving"
    person.refresh_from_db()
    assert person.sync_problem == {
        "code": "hire_after_leaving",
        "params": {"hire": "2026-12-01", "leaving": "2026-11-30"},
        "run": run.pk,
    }
    hr = client_for(make_hr_admin(company, email="hr@nordlicht.example"))
    page = hr.get(reverse("employees:detail", kwargs={"slug": company.slug, "pk": person.pk}))
    assert "could not take this employee" in page.content.decode()
    listed = hr.get(
        reverse("employees:list", kwargs={"slug": company.slug}), {"flag": "sync_problem"}
    )
    assert [e.pk for e in listed.context["page"]] == [person.pk]

    sandbox.state.patch_employee(person.personio_id, {"termination_date": None})
    sync_now(company)
    person.refresh_from_db()
    assert person.sync_problem is None


# --- 7. Connect carries the auto-invite choice ----------------------------------------------------


def test_connect_with_auto_invite_makes_the_first_sync_invite(
    company: Company, sandbox: SandboxHandle
) -> None:
    connect(company, sandbox, auto_invite=True, first_sync=True, enqueue=False)
    queued = SyncRun.objects.get(company=company, status=RunStatus.QUEUED)
    run = sync.execute_run(queued.pk)
    assert run.counts["invited"] > 0
    assert Invitation.objects.count() == run.counts["invited"]


# --- 8. the README's command-line sequence --------------------------------------------------------


def test_connect_then_sync_on_the_command_line_works_without_a_worker(
    company: Company, sandbox: SandboxHandle, capsys: pytest.CaptureFixture[str]
) -> None:
    cli_connect(company, sandbox)
    out = capsys.readouterr().out
    assert "First synchronization: " in out
    assert Employee.objects.filter(company=company).exists()
    call_command("sync", company.slug, "--json")
    result = json.loads(capsys.readouterr().out)
    assert result["outcome"] in ("succeeded", "partly_failed")
    assert result["counts"]["created"] == 0


def test_sync_takes_over_a_run_that_nobody_claimed(
    company: Company, connected: PersonioIntegration, capsys: pytest.CaptureFixture[str]
) -> None:
    queued = sync.request_sync(company, "connect", enqueue=False)
    call_command("sync", company.slug, "--json")
    result = json.loads(capsys.readouterr().out)
    assert result["run"] == queued.pk
    assert result["outcome"] in ("succeeded", "partly_failed")


def test_sync_exits_3_for_a_held_run_and_prints_its_reasons(
    company: Company,
    connected: PersonioIntegration,
    sandbox: SandboxHandle,
    capsys: pytest.CaptureFixture[str],
) -> None:
    sync_now(company)
    empty_personio(sandbox)
    with pytest.raises(CommandError) as refused:
        call_command("sync", company.slug, "--json")
    assert refused.value.returncode == 3
    result = json.loads(capsys.readouterr().out)
    assert result["outcome"] == "held"
    assert result["hold_reasons"] == [
        "Personio returned no employees while the company has active employees",
        "40 of 40 active employees would become leavers or missing",
    ]


# --- 3. no Personio call inside a transaction -----------------------------------------------------


def test_the_suite_refuses_a_personio_call_inside_a_transaction(
    company: Company, connected: PersonioIntegration
) -> None:
    from django.db import transaction

    from tests.conftest import IOInTransaction

    with pytest.raises(IOInTransaction), transaction.atomic():
        services.validate_credentials(
            connected.client_id, "sandbox-client-secret", connected.base_url
        )


def test_another_company_writes_at_once_while_a_connect_waits_for_a_slow_personio(
    company: Company, sandbox: SandboxHandle
) -> None:
    import threading
    import time

    from django.db import connection

    other = Company.objects.create(name="Suedwind GmbH", slug="suedwind")
    sandbox.set_faults(latency_ms=3000)
    started = threading.Event()

    def connect_slowly() -> None:
        started.set()
        try:
            connect(company, sandbox)
        finally:
            connection.close()

    worker = threading.Thread(target=connect_slowly)
    worker.start()
    started.wait(5)
    time.sleep(0.5)  # the Connect is now waiting for Personio's answer
    begun = time.monotonic()
    employee_services.do_create_employee(
        other, first_name="Wera", last_name="Schreibt", acting_user=None
    )
    took = time.monotonic() - begun
    worker.join(30)
    assert took < 1.0, f"a write of another company waited {took:.1f} s for the Connect"
    assert PersonioIntegration.objects.get(company=company).is_connected
