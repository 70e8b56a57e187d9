"""The Personio integration page and sync history, driven through the test client against the
real sandbox (SPEC §2-4; seed steps 6-8)."""

from __future__ import annotations

import csv
import io

import pytest
from django.test import Client
from django.urls import reverse

from benefitsync.accounts.models import User
from benefitsync.companies.models import Company
from benefitsync.employees.models import Employee
from benefitsync.integrations.personio import sync
from benefitsync.integrations.personio.models import (
    IntegrationStatus,
    PersonioIntegration,
    RunStatus,
    SyncRun,
)
from benefitsync.integrations.personio.sandbox.server import SandboxHandle
from tests.conftest import ClientFor

pytestmark = pytest.mark.django_db(transaction=True)


def url(name: str, company: Company, **kwargs: object) -> str:
    return reverse(f"personio:{name}", kwargs={"slug": company.slug, **kwargs})


def sync_now(client: Client, company: Company) -> SyncRun:
    response = client.post(url("sync_now", company), follow=True)
    assert response.status_code == 200
    run = SyncRun.objects.filter(company=company).first()
    assert run is not None
    return run


def test_wrong_then_right_credentials_shows_integration_active(
    company_a: Company, hr_a: User, client_for: ClientFor, sandbox: SandboxHandle
) -> None:
    client = client_for(hr_a)
    page = client.get(url("integration", company_a))
    assert page.status_code == 200
    assert b"Client Secret" in page.content and b"Integration active" not in page.content

    wrong = client.post(
        url("connect", company_a), {"client_id": sandbox.client_id, "client_secret": "nope-123"}
    )
    assert wrong.status_code == 400
    assert "did not accept this Client ID and Client Secret" in wrong.content.decode()
    assert b"nope-123" not in wrong.content
    assert not PersonioIntegration.objects.filter(
        company=company_a, status=IntegrationStatus.ACTIVE
    ).exists()

    right = client.post(
        url("connect", company_a),
        {"client_id": sandbox.client_id, "client_secret": sandbox.client_secret},
        follow=True,
    )
    html = right.content.decode()
    assert 'badge badge-active" id="integration-status">Integration active' in html
    assert sandbox.client_secret not in html
    # The first sync ran (Huey immediate) and its outcome is on the page.
    run = SyncRun.objects.get(company=company_a)
    assert run.trigger == "connect" and run.status == RunStatus.SUCCEEDED
    assert Employee.objects.filter(company=company_a).count() > 0
    after = client.get(url("integration", company_a)).content.decode()
    assert "Succeeded" in after and "Attributes received from Personio" in after
    assert sandbox.client_secret not in after


def test_connect_with_attributes_missing_lists_them(
    company_a: Company, hr_a: User, client_for: ClientFor, sandbox: SandboxHandle
) -> None:
    cred = sandbox.state.create_credential(["first_name", "last_name", "email"])
    response = client_for(hr_a).post(
        url("connect", company_a),
        {"client_id": cred.client_id, "client_secret": cred.client_secret},
    )
    assert response.status_code == 400
    assert "Leaving date" in response.content.decode()


def test_synchronize_now_shows_the_run_and_the_status_endpoint_reports_it(
    company_a: Company,
    hr_a: User,
    client_for: ClientFor,
    connected_a: PersonioIntegration,
    sandbox: SandboxHandle,
) -> None:
    client = client_for(hr_a)
    run = sync_now(client, company_a)
    assert run.trigger == "manual" and run.status == RunStatus.SUCCEEDED

    status = client.get(url("run_status", company_a, pk=run.pk))
    assert status["Content-Type"] == "application/json"
    data = status.json()
    assert data["done"] is True and data["status"] == "succeeded"
    assert data["counts"]["created"] == run.counts["created"] > 0
    assert data["url"] == url("run", company_a, pk=run.pk)

    history = client.get(url("runs", company_a)).content.decode()
    assert url("run", company_a, pk=run.pk) in history and "Synchronize now" in history
    detail = client.get(url("run", company_a, pk=run.pk)).content.decode()
    assert "Created" in detail and "first name: — →" in detail


def test_a_queued_run_reports_running_and_a_second_request_is_told_so(
    company_a: Company, hr_a: User, client_for: ClientFor, connected_a: PersonioIntegration
) -> None:
    client = client_for(hr_a)
    queued = sync.request_sync(company_a, "manual", enqueue=False)
    page = client.get(url("integration", company_a)).content.decode()
    assert url("run_status", company_a, pk=queued.pk) in page
    assert client.get(url("run_status", company_a, pk=queued.pk)).json()["done"] is False

    again = client.post(url("sync_now", company_a), follow=True).content.decode()
    assert "already running" in again
    assert SyncRun.objects.filter(company=company_a).count() == 1

    sync.execute_run(queued.pk)
    assert client.get(url("run_status", company_a, pk=queued.pk)).json()["done"] is True


def _held_run(client: Client, company: Company, sandbox: SandboxHandle) -> SyncRun:
    sync_now(client, company)
    for employee in sandbox.state.list_flat():
        sandbox.state.delete_employee(employee["id"])
    run = sync_now(client, company)
    assert run.status == RunStatus.HELD
    return run


def test_held_run_is_previewed_and_can_be_discarded(
    company_a: Company,
    hr_a: User,
    client_for: ClientFor,
    connected_a: PersonioIntegration,
    sandbox: SandboxHandle,
) -> None:
    client = client_for(hr_a)
    run = _held_run(client, company_a, sandbox)
    page = client.get(url("integration", company_a)).content.decode()
    assert "waiting for your decision" in page
    assert "No longer in Personio" in page  # who would go missing
    assert url("discard_run", company_a, pk=run.pk) in page
    assert client.get(url("run", company_a, pk=run.pk)).status_code == 200

    client.post(url("discard_run", company_a, pk=run.pk))
    run.refresh_from_db()
    assert run.status == RunStatus.DISCARDED
    assert not Employee.objects.filter(company=company_a, missing_from_personio=True).exists()


def test_held_run_can_be_confirmed(
    company_a: Company,
    hr_a: User,
    client_for: ClientFor,
    connected_a: PersonioIntegration,
    sandbox: SandboxHandle,
) -> None:
    client = client_for(hr_a)
    run = _held_run(client, company_a, sandbox)
    response = client.post(url("confirm_run", company_a, pk=run.pk), follow=True)
    assert "was applied" in response.content.decode()
    run.refresh_from_db()
    assert run.status == RunStatus.APPLIED
    assert Employee.objects.filter(company=company_a, missing_from_personio=True).exists()


def test_preview_next_sync_shows_the_plan_and_changes_nothing(
    company_a: Company,
    hr_a: User,
    client_for: ClientFor,
    connected_a: PersonioIntegration,
    sandbox: SandboxHandle,
) -> None:
    response = client_for(hr_a).get(url("preview", company_a))
    assert response.status_code == 200
    assert "Nothing has been changed" in response.content.decode()
    assert "Created" in response.content.decode()
    assert not Employee.objects.filter(company=company_a).exists()
    assert not SyncRun.objects.filter(company=company_a).exists()


def test_disconnect_asks_first_and_keeps_employees(
    company_a: Company,
    hr_a: User,
    client_for: ClientFor,
    connected_a: PersonioIntegration,
    sandbox: SandboxHandle,
) -> None:
    client = client_for(hr_a)
    sync_now(client, company_a)
    count = Employee.objects.filter(company=company_a).count()
    confirm = client.get(url("disconnect", company_a)).content.decode()
    assert "stay exactly as they are" in confirm
    assert PersonioIntegration.objects.get(company=company_a).status == IntegrationStatus.ACTIVE

    client.post(url("disconnect", company_a))
    integration = PersonioIntegration.objects.get(company=company_a)
    assert integration.status == IntegrationStatus.DISCONNECTED
    assert integration.client_secret_encrypted == ""
    assert Employee.objects.filter(company=company_a).count() == count


def test_auto_invite_pause_and_resume(
    company_a: Company, hr_a: User, client_for: ClientFor, connected_a: PersonioIntegration
) -> None:
    client = client_for(hr_a)
    client.post(url("auto_invite", company_a), {"enabled": "on"})
    assert PersonioIntegration.objects.get(company=company_a).auto_invite is True
    client.post(url("auto_invite", company_a), {})
    assert PersonioIntegration.objects.get(company=company_a).auto_invite is False
    client.post(url("pause", company_a))
    assert PersonioIntegration.objects.get(company=company_a).status == IntegrationStatus.PAUSED
    assert "Resume daily sync" in client.get(url("integration", company_a)).content.decode()
    client.post(url("resume", company_a))
    assert PersonioIntegration.objects.get(company=company_a).status == IntegrationStatus.ACTIVE


def test_run_csv_lists_each_field_change(
    company_a: Company,
    hr_a: User,
    client_for: ClientFor,
    connected_a: PersonioIntegration,
    sandbox: SandboxHandle,
) -> None:
    client = client_for(hr_a)
    run = sync_now(client, company_a)
    response = client.get(url("run_csv", company_a, pk=run.pk))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows and {r["action"] for r in rows} >= {"create"}
    assert any(r["field"] == "email" and r["new"] for r in rows)


def test_employee_page_shows_the_sync_timeline(
    company_a: Company,
    hr_a: User,
    client_for: ClientFor,
    connected_a: PersonioIntegration,
    sandbox: SandboxHandle,
) -> None:
    from django.template import Context, Template

    client = client_for(hr_a)
    run = sync_now(client, company_a)
    employee = Employee.objects.filter(company=company_a).first()
    assert employee is not None
    html = Template("{% load personio_tags %}{% sync_timeline employee %}").render(
        Context({"employee": employee})
    )
    assert url("run", company_a, pk=run.pk) in html and "Created" in html


def test_other_companys_runs_are_404(
    company_a: Company,
    company_b: Company,
    hr_b: User,
    client_for: ClientFor,
    connected_a: PersonioIntegration,
) -> None:
    run = sync.request_sync(company_a, "manual", enqueue=False)
    client = client_for(hr_b)
    # B's admin on A's URLs, and on B's URLs with A's run id.
    assert client.get(url("run", company_a, pk=run.pk)).status_code == 404
    assert client.get(url("run", company_b, pk=run.pk)).status_code == 404
    assert client.get(url("run_status", company_b, pk=run.pk)).status_code == 404
    assert client.post(url("discard_run", company_b, pk=run.pk)).status_code == 404


def test_the_client_secret_is_in_no_page(
    company_a: Company,
    hr_a: User,
    support: User,
    client_for: ClientFor,
    connected_a: PersonioIntegration,
    sandbox: SandboxHandle,
) -> None:
    hr = client_for(hr_a)
    run = sync_now(hr, company_a)
    pages = [
        (hr, url(name, company_a)) for name in ("integration", "preview", "disconnect", "runs")
    ] + [(hr, url(name, company_a, pk=run.pk)) for name in ("run", "run_status", "run_csv")]
    pages += [
        (client_for(support), reverse("support:companies")),
        (client_for(support), reverse("support:filter", kwargs={"pk": company_a.pk})),
    ]
    for client, address in pages:
        response = client.get(address)
        assert response.status_code == 200, address
        assert sandbox.client_secret not in response.content.decode("utf-8-sig"), address


def test_the_integration_page_speaks_german(
    company_a: Company, hr_a: User, client_for: ClientFor, connected_a: PersonioIntegration
) -> None:
    html = (
        client_for(hr_a)
        .get(url("integration", company_a), headers={"accept-language": "de"})
        .content.decode()
    )
    assert "Integration aktiv" in html and "Jetzt synchronisieren" in html
    assert "Personio trennen" in html
