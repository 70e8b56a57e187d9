"""The audit log says who did what, when, in which company, for every sensitive action:
connect, disconnect, pause, resume, filter change, auto-invite toggle, sync now, hold confirm and
discard, termination and deletion."""

from __future__ import annotations

import pytest

from benefitsync.accounts.models import User
from benefitsync.audit.models import AuditEvent
from benefitsync.companies.models import Company, Membership
from benefitsync.employees import services as employee_services
from benefitsync.integrations.personio import reconcile as rc
from benefitsync.integrations.personio import services, sync
from benefitsync.integrations.personio.models import RunStatus, SyncRun
from benefitsync.integrations.personio.sandbox.server import SandboxHandle
from benefitsync.integrations.personio.sync.guard import basis_of
from tests.factories import make_employee

pytestmark = pytest.mark.django_db(transaction=True)


def test_every_sensitive_action_leaves_an_audit_event_with_actor_and_company(
    sandbox: SandboxHandle,
) -> None:
    company = Company.objects.create(name="Audit GmbH", slug="audit")
    hr = User.objects.create_user("hr@audit.example", "pw-123456789")
    Membership.objects.create(user=hr, company=company)
    support = User.objects.create_user("support@audit.example", "pw-123456789", is_staff=True)

    services.do_set_company_filter(
        company, email_domains=["nordlicht-services.de"], acting_user=support
    )
    services.do_connect_personio(
        company,
        client_id=sandbox.client_id,
        client_secret=sandbox.client_secret,
        base_url=sandbox.base_url,
        acting_user=hr,
        first_sync=False,
    )
    services.do_set_auto_invite(company, True, acting_user=hr)
    services.do_pause_personio(company, acting_user=hr)
    services.do_resume_personio(company, acting_user=hr)
    run = sync.request_sync(company, "manual", acting_user=hr, enqueue=False)
    basis = basis_of(services.integration_for(company))
    run.status, run.plan = RunStatus.HELD, sync.plan_to_json(rc.Plan(), basis)
    run.save()
    sync.discard_held(run, acting_user=hr)
    held = SyncRun.objects.create(
        company=company,
        trigger="daily",
        status=RunStatus.HELD,
        plan=sync.plan_to_json(rc.Plan(), basis),
    )
    sync.confirm_held(held, acting_user=hr)
    leaver = make_employee(company)
    employee_services.do_terminate_now(
        leaver, today=employee_services.company_today(company), acting_user=hr
    )
    gone = make_employee(company)
    employee_services.do_delete_employee(gone, acting_user=hr)
    services.do_disconnect_personio(company, acting_user=hr)

    expected = {
        "personio.filter": support,
        "personio.connect": hr,
        "personio.auto_invite": hr,
        "personio.pause": hr,
        "personio.resume": hr,
        "personio.sync_now": hr,
        "personio.hold_discard": hr,
        "personio.hold_confirm": hr,
        "employee.terminate_now": hr,
        "employee.delete": hr,
        "personio.disconnect": hr,
    }
    events = {e.action: e for e in AuditEvent.objects.filter(company=company)}
    for action, actor in expected.items():
        assert action in events, f"{action} is not audited"
        assert events[action].actor == actor, action
        assert events[action].created_at is not None
    secret_free = " ".join(str(e.details) + e.target for e in events.values())
    assert sandbox.client_secret not in secret_free
