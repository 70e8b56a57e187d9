"""End-to-end: the sync against the real sandbox server over HTTP, on the real database."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.core import mail
from django.core.management import call_command
from django.utils import timezone

from benefitsync.accounts.models import User
from benefitsync.benefits.models import EmployeeBenefit, EndReason
from benefitsync.companies.models import Company, Membership
from benefitsync.employees import services as employee_services
from benefitsync.employees.models import Employee, EmployeeSource, EmployeeStatus
from benefitsync.integrations.personio import services, sync
from benefitsync.integrations.personio.models import (
    IntegrationStatus,
    PersonioIntegration,
    RunStatus,
    SyncEvent,
)
from benefitsync.integrations.personio.sandbox.server import SandboxHandle
from benefitsync.integrations.personio.sync import plan as sync_plan
from benefitsync.invitations.models import OutboundEmail
from benefitsync.lib import crypto
from benefitsync.lib.months import Month
from tests.sync.conftest import cli_connect, empty_personio, sync_now

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True, params=[sync_plan.CHUNK_SIZE, 4], ids=["one-chunk", "chunks-of-4"])
def chunk_size(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> int:
    """Every scenario twice: a listing that fits in one chunk (read against one snapshot of the
    company, as most companies are) and the same listing in chunks of 4 (the large-company
    path: each chunk's own rows, the company's keys once)."""
    size: int = request.param
    monkeypatch.setattr(sync_plan, "CHUNK_SIZE", size)
    return size


def today(company: Company) -> dt.date:
    return employee_services.company_today(company)


def personio_ids_in_portal(company: Company) -> set[int]:
    return set(
        Employee.objects.filter(company=company, personio_id__isnull=False).values_list(
            "personio_id", flat=True
        )
    )


def expected_on_first_sync(sandbox: SandboxHandle, company: Company) -> set[int]:
    """Personio employees a first sync creates: all but those who left in an earlier month."""
    this_month = Month.of(today(company))
    ids = set()
    for e in sandbox.state.list_flat():
        leaving = e["termination_date"]
        if leaving and Month.of(dt.date.fromisoformat(leaving)) < this_month:
            continue
        ids.add(e["id"])
    return ids


def add_benefit(employee: Employee, kind: str = "meal") -> EmployeeBenefit:
    return EmployeeBenefit.objects.create(
        company=employee.company,
        employee=employee,
        kind=kind,
        monthly_amount=Decimal("50.00"),
        start_month=Month.of(today(employee.company)).previous().first_day,
    )


def test_first_sync_creates_every_current_personio_employee(
    company: Company, connected: PersonioIntegration, sandbox: SandboxHandle
) -> None:
    run = sync_now(company)
    assert run.status in (RunStatus.SUCCEEDED, RunStatus.PARTLY_FAILED), run.text
    created = personio_ids_in_portal(company)
    assert created == expected_on_first_sync(sandbox, company) - {
        e.personio_id for e in run.events.filter(action="skip")
    }
    assert run.counts["created"] == len(created)
    assert run.requests >= 2
    assert set(run.attributes or []) >= {"email", "first_name", "last_name", "termination_date"}


def test_second_sync_of_unchanged_data_writes_nothing(
    company: Company, connected: PersonioIntegration
) -> None:
    sync_now(company)
    before = dict(Employee.objects.filter(company=company).values_list("pk", "updated_at"))
    run = sync_now(company)
    assert run.counts["employees_written"] == 0
    assert run.counts["unchanged"] == len(before)
    after = dict(Employee.objects.filter(company=company).values_list("pk", "updated_at"))
    assert after == before


def test_new_hire_and_edit_in_personio_reach_the_portal(
    company: Company, connected: PersonioIntegration, sandbox: SandboxHandle
) -> None:
    sync_now(company)
    new_id = sandbox.state.create_employee(
        {"first_name": "Greta", "last_name": "Neu", "email": "greta.neu@nordlicht-services.de"}
    )
    someone = next(e for e in sandbox.state.list_flat() if e["email"] and e["id"] != new_id)
    sandbox.state.patch_employee(someone["id"], {"last_name": "Umbenannt"})
    run = sync_now(company)
    assert (run.counts["created"], run.counts["updated"]) == (1, 1)
    assert Employee.objects.get(company=company, personio_id=new_id).first_name == "Greta"
    edited = Employee.objects.get(company=company, personio_id=someone["id"])
    assert edited.last_name == "Umbenannt"
    event = SyncEvent.objects.get(run=run, employee=edited, action="update")
    assert event.changes["last_name"] == [someone["last_name"], "Umbenannt"]


def _active_with_email(sandbox: SandboxHandle, company: Company) -> tuple[int, Employee]:
    employee = (
        Employee.objects.filter(
            company=company, status=EmployeeStatus.ACTIVE, personio_id__isnull=False
        )
        .exclude(email="")
        .first()
    )
    assert employee is not None and employee.personio_id is not None
    return employee.personio_id, employee


def test_future_leaving_date_makes_leaving_planned_and_ends_benefits_that_month(
    company: Company, connected: PersonioIntegration, sandbox: SandboxHandle
) -> None:
    sync_now(company)
    pid, employee = _active_with_email(sandbox, company)
    benefit = add_benefit(employee)
    leaving = Month.of(today(company)).next().next().first_day + dt.timedelta(days=14)
    sandbox.state.patch_employee(pid, {"termination_date": leaving.isoformat()})
    sync_now(company)
    employee.refresh_from_db()
    benefit.refresh_from_db()
    assert employee.status == EmployeeStatus.LEAVING
    assert employee.last_working_month == Month.of(leaving).first_day
    assert (benefit.end_month, benefit.end_reason) == (
        Month.of(leaving).first_day,
        EndReason.LEAVING,
    )


def test_leaving_date_entered_late_ends_benefits_this_month(
    company: Company, connected: PersonioIntegration, sandbox: SandboxHandle
) -> None:
    sync_now(company)
    pid, employee = _active_with_email(sandbox, company)
    past = Month.of(today(company)).previous().previous().first_day
    sandbox.state.patch_employee(pid, {"termination_date": past.isoformat()})
    sync_now(company)
    employee.refresh_from_db()
    assert employee.status == EmployeeStatus.LEAVING
    assert employee.last_working_month == Month.of(today(company)).first_day


def test_removed_leaving_date_makes_active_again_and_restores_benefits_but_not_hand_ends(
    company: Company, connected: PersonioIntegration, sandbox: SandboxHandle
) -> None:
    sync_now(company)
    pid, employee = _active_with_email(sandbox, company)
    open_benefit = add_benefit(employee, "meal")
    hand_end = Month.of(today(company)).next().next().next().first_day
    hand_ended = add_benefit(employee, "internet")
    hand_ended.end_month, hand_ended.end_reason = hand_end, EndReason.MANUAL
    hand_ended.save()
    leaving = Month.of(today(company)).next().last_day
    sandbox.state.patch_employee(pid, {"termination_date": leaving.isoformat()})
    sync_now(company)
    sandbox.state.patch_employee(pid, {"termination_date": None})
    run = sync_now(company)
    employee.refresh_from_db()
    open_benefit.refresh_from_db()
    hand_ended.refresh_from_db()
    assert employee.status == EmployeeStatus.ACTIVE
    assert employee.last_working_month is None
    assert open_benefit.end_month is None
    assert hand_ended.end_month == hand_end
    assert run.events.filter(action="undo_leaving", employee=employee).exists()


def test_month_end_turns_leaving_planned_into_left(
    company: Company, connected: PersonioIntegration, sandbox: SandboxHandle
) -> None:
    sync_now(company)
    pid, employee = _active_with_email(sandbox, company)
    leaving = Month.of(today(company)).last_day
    sandbox.state.patch_employee(pid, {"termination_date": leaving.isoformat()})
    sync_now(company)
    assert employee_services.do_complete_leaving(company, today=today(company)) == []
    first_of_next = Month.of(today(company)).next().first_day
    assert employee.pk in employee_services.do_complete_leaving(company, today=first_of_next)
    employee.refresh_from_db()
    assert employee.status == EmployeeStatus.LEFT
    assert employee_services.do_complete_leaving(company, today=first_of_next) == []


def test_employee_deleted_in_personio_is_flagged_not_deleted(
    company: Company, connected: PersonioIntegration, sandbox: SandboxHandle
) -> None:
    sync_now(company)
    pid, employee = _active_with_email(sandbox, company)
    sandbox.state.delete_employee(pid)
    run = sync_now(company)
    employee.refresh_from_db()
    assert employee.missing_from_personio
    assert run.counts["flagged_missing"] == 1


@pytest.mark.parametrize(
    ("filter_kwargs", "belongs"),
    [
        (
            {"email_domains": ["nordlicht-services.de"]},
            lambda e: e["email"].endswith("@nordlicht-services.de"),
        ),
        (
            {"company_names": ["Spreewald Digital AG"]},
            lambda e: e["subcompany"] == "Spreewald Digital AG",
        ),
        (
            {"opt_in": True},
            lambda e: (e["Probonio Filter"] or "").strip().lower() in {"ja", "yes", "true"},
        ),
    ],
)
def test_company_filter_takes_only_matching_employees(
    company: Company,
    connected: PersonioIntegration,
    sandbox: SandboxHandle,
    filter_kwargs: dict[str, Any],
    belongs: Any,
) -> None:
    services.do_set_company_filter(company, acting_user=None, **filter_kwargs)
    sync_now(company)
    expected = {
        e["id"]
        for e in sandbox.state.list_flat()
        if e["id"] in expected_on_first_sync(sandbox, company) and e["email"] and belongs(e)
    }
    got = personio_ids_in_portal(company)
    assert got and got <= {e["id"] for e in sandbox.state.list_flat()}
    assert expected <= got
    assert all(belongs(sandbox.state.get_flat(pid)) for pid in got)


def test_opting_out_flags_the_employee(
    company: Company, connected: PersonioIntegration, sandbox: SandboxHandle
) -> None:
    services.do_set_company_filter(company, acting_user=None, opt_in=True)
    sync_now(company)
    pid, employee = _active_with_email(sandbox, company)
    sandbox.state.patch_employee(pid, {"Probonio Filter": "nein"})
    sync_now(company)
    employee.refresh_from_db()
    assert employee.missing_from_personio


def test_disconnect_keeps_employees_and_benefits_and_reconnect_never_duplicates(
    company: Company, connected: PersonioIntegration, sandbox: SandboxHandle
) -> None:
    sync_now(company)
    _pid, employee = _active_with_email(sandbox, company)
    benefit = add_benefit(employee)
    count = Employee.objects.filter(company=company).count()
    services.do_disconnect_personio(company, acting_user=None)
    integration = PersonioIntegration.objects.get(company=company)
    assert (integration.client_id, integration.client_secret_encrypted) == ("", "")
    assert integration.status == IntegrationStatus.DISCONNECTED
    assert Employee.objects.filter(company=company).count() == count
    # Reconnect with a new credential of the same account.
    cred = sandbox.state.create_credential(None)
    services.do_connect_personio(
        company,
        client_id=cred.client_id,
        client_secret=cred.client_secret,
        base_url=sandbox.base_url,
        acting_user=None,
        first_sync=False,
    )
    run = sync_now(company)
    assert Employee.objects.filter(company=company).count() == count
    assert run.counts["created"] == 0
    benefit.refresh_from_db()
    assert benefit.end_month is None


def test_hand_made_employee_is_linked_when_personio_has_the_same_email(
    company: Company, connected: PersonioIntegration, sandbox: SandboxHandle
) -> None:
    target = next(e for e in sandbox.state.list_flat() if e["email"] and not e["termination_date"])
    hand = employee_services.do_create_employee(
        company,
        acting_user=None,
        first_name="Hand",
        last_name="Made",
        email=target["email"].upper(),
    )
    sync_now(company)
    hand.refresh_from_db()
    assert (hand.personio_id, hand.source) == (target["id"], EmployeeSource.PERSONIO)
    assert Employee.objects.filter(company=company, email__iexact=target["email"]).count() == 1


def test_mass_leaving_is_held_then_confirmed(
    company: Company, connected: PersonioIntegration, sandbox: SandboxHandle
) -> None:
    sync_now(company)
    leaving = Month.of(today(company)).next().last_day.isoformat()
    linked = list(
        Employee.objects.filter(company=company, status=EmployeeStatus.ACTIVE).values_list(
            "personio_id", flat=True
        )
    )
    for pid in linked[: len(linked) // 2]:
        sandbox.state.patch_employee(pid, {"termination_date": leaving})
    leaving_before = Employee.objects.filter(company=company, status=EmployeeStatus.LEAVING)
    count_before = leaving_before.count()
    run = sync_now(company)
    assert run.status == RunStatus.HELD
    assert run.hold_reasons
    assert leaving_before.count() == count_before
    confirmed = sync.confirm_held(run, acting_user=None)
    assert confirmed.status == RunStatus.APPLIED
    assert leaving_before.count() == count_before + len(linked[: len(linked) // 2])


def test_empty_personio_listing_is_held_and_can_be_discarded(
    company: Company, connected: PersonioIntegration, sandbox: SandboxHandle
) -> None:
    sync_now(company)
    empty_personio(sandbox)
    run = sync_now(company)
    assert run.status == RunStatus.HELD
    sync.discard_held(run, acting_user=None)
    run.refresh_from_db()
    assert run.status == RunStatus.DISCARDED
    assert not Employee.objects.filter(company=company, missing_from_personio=True).exists()


def test_whitelist_losing_the_leaving_date_holds_the_run(
    company: Company, connected: PersonioIntegration, sandbox: SandboxHandle
) -> None:
    sync_now(company)
    keys = ["first_name", "last_name", "email", "status", "hire_date", "subcompany"]
    cred = sandbox.state.create_credential(keys)
    integration = PersonioIntegration.objects.get(company=company)
    integration.client_id = cred.client_id
    integration.client_secret_encrypted = crypto.encrypt(cred.client_secret)
    integration.save()
    run = sync_now(company)
    assert run.status == RunStatus.HELD
    assert "termination_date" in run.hold_texts[0]


def test_auto_invite_queues_exactly_one_invitation_per_new_employee(
    company: Company, connected: PersonioIntegration, sandbox: SandboxHandle
) -> None:
    services.do_set_auto_invite(company, True, acting_user=None)
    run = sync_now(company)
    invited = run.counts["invited"]
    assert invited > 0
    assert OutboundEmail.objects.filter(company=company).count() == invited
    sync_now(company)
    assert OutboundEmail.objects.filter(company=company).count() == invited
    no_email = run.events.filter(action="skip", message__contains="no e-mail")
    assert no_email.count() == sum(
        1
        for e in sandbox.state.list_flat()
        if not e["email"] and e["id"] in personio_ids_in_portal(company)
    )


def test_wrong_credentials_are_refused_and_nothing_is_stored(
    company: Company, sandbox: SandboxHandle
) -> None:
    with pytest.raises(services.ConnectError) as refused:
        services.do_connect_personio(
            company,
            client_id=sandbox.client_id,
            client_secret="wrong",
            base_url=sandbox.base_url,
            acting_user=None,
        )
    assert refused.value.kind == "wrong_credentials"
    assert not PersonioIntegration.objects.filter(company=company, client_id__gt="").exists()


def test_unreachable_personio_is_refused_with_its_own_message(
    company: Company, fast_client: None
) -> None:
    with pytest.raises(services.ConnectError) as refused:
        services.do_connect_personio(
            company,
            client_id="x",
            client_secret="y",
            base_url="http://127.0.0.1:9",
            acting_user=None,
        )
    assert refused.value.kind == "unreachable"


def test_credential_without_needed_attributes_is_refused_listing_them(
    company: Company, sandbox: SandboxHandle
) -> None:
    cred = sandbox.state.create_credential(["first_name", "last_name", "email"])
    with pytest.raises(services.ConnectError) as refused:
        services.do_connect_personio(
            company,
            client_id=cred.client_id,
            client_secret=cred.client_secret,
            base_url=sandbox.base_url,
            acting_user=None,
        )
    assert refused.value.kind == "missing_attributes"
    assert refused.value.missing == ["Leaving date"]


def test_secret_is_stored_encrypted(company: Company, connected: PersonioIntegration) -> None:
    stored = PersonioIntegration.objects.get(company=company).client_secret_encrypted
    assert "sandbox-client-secret" not in stored
    assert crypto.decrypt(stored) == "sandbox-client-secret"


def test_second_request_while_one_is_queued_is_told_already_running(
    company: Company, connected: PersonioIntegration
) -> None:
    sync.request_sync(company, "manual", enqueue=False)
    with pytest.raises(sync.AlreadyRunning):
        sync.request_sync(company, "manual", enqueue=False)


def test_revoked_credentials_fail_the_run_ask_for_reconnect_and_mail_the_hr_admins_once(
    company: Company, connected: PersonioIntegration, sandbox: SandboxHandle
) -> None:
    hr = User.objects.create_user("hr@nordlicht.example", "pw-123456789")
    Membership.objects.create(user=hr, company=company)
    sandbox.state.delete_credential(sandbox.client_id)
    run = sync_now(company)
    assert run.status == RunStatus.FAILED
    integration = PersonioIntegration.objects.get(company=company)
    assert integration.status == IntegrationStatus.NEEDS_RECONNECT
    assert integration.next_sync_at is None  # no daily retries until someone reconnects
    assert [m.to for m in mail.outbox] == [["hr@nordlicht.example"]]
    assert "reconnect" in mail.outbox[0].subject.lower()
    sync_now(company)
    assert len(mail.outbox) == 1  # once per failure streak, not daily


def test_repeated_failures_back_off_and_notify_after_the_third(
    company: Company, connected: PersonioIntegration, sandbox: SandboxHandle
) -> None:
    hr = User.objects.create_user("hr@nordlicht.example", "pw-123456789")
    Membership.objects.create(user=hr, company=company)
    sandbox.set_faults(rate_503=1.0)
    delays = []
    for _ in range(3):
        before = timezone.now()
        assert sync_now(company).status == RunStatus.FAILED
        integration = PersonioIntegration.objects.get(company=company)
        assert integration.status == IntegrationStatus.ACTIVE
        assert integration.next_sync_at is not None
        delays.append(integration.next_sync_at - before)
    assert delays[0] < delays[1] < delays[2]
    assert len(mail.outbox) == 1 and "failing" in mail.outbox[0].subject
    sandbox.set_faults()
    assert sync_now(company).status in (RunStatus.SUCCEEDED, RunStatus.PARTLY_FAILED)
    assert PersonioIntegration.objects.get(company=company).consecutive_failures == 0


def test_cli_connects_syncs_and_lists_employees_as_json(
    company: Company, sandbox: SandboxHandle, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    cli_connect(company, sandbox, "--no-sync")
    capsys.readouterr()
    call_command("sync", company.slug, "--json")
    result = json.loads(capsys.readouterr().out)
    assert result["outcome"] in ("succeeded", "partly_failed")
    call_command("employees", company.slug, "--json")
    rows = json.loads(capsys.readouterr().out)
    assert len(rows) == result["counts"]["created"]
    assert set(rows[0]) >= {
        "personio_id",
        "email",
        "status",
        "last_working_month",
        "missing_from_personio",
    }


def test_cli_confirms_a_held_run(
    company: Company,
    connected: PersonioIntegration,
    sandbox: SandboxHandle,
    capsys: pytest.CaptureFixture[str],
) -> None:
    import json

    sync_now(company)
    empty_personio(sandbox)
    held = sync_now(company)
    assert held.status == RunStatus.HELD
    call_command("sync", company.slug, "--confirm", str(held.pk), "--json")
    result = json.loads(capsys.readouterr().out)
    assert result["outcome"] == RunStatus.APPLIED
    assert (
        Employee.objects.filter(company=company, missing_from_personio=True).count()
        == (result["counts"]["flagged_missing"])
    )
