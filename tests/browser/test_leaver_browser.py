"""Leavers, deletions and reconnecting, as an HR admin in a real browser (FAQ of the seed).

Connect and run the first sync; Personio (the sandbox) gets a leaving date next month →
"Synchronize now" → the employee is "Leaving planned" with that month as the last working month;
a leaving date entered late (a past month) → "Leaving planned" with the current month; an employee
deleted in Personio → flagged "No longer in Personio", not deleted; disconnect → benefits stay;
reconnect with new access data → the same employees, no duplicates.

The sync job is held in a list instead of a worker (`queued_jobs`): the test runs it and the page's
status poller must show the result by itself.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import pytest

from benefitsync.benefits.models import BenefitType, EmployeeBenefit
from benefitsync.companies.models import Company
from benefitsync.employees.models import Employee, EmployeeStatus
from benefitsync.employees.services import company_today
from benefitsync.integrations.personio import sync
from benefitsync.integrations.personio.models import RunStatus, SyncRun
from benefitsync.integrations.personio.sandbox.server import SandboxHandle
from benefitsync.lib.months import Month
from tests.factories import make_company, make_hr_admin

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
]

HR = "hr@nordlicht.example"


def synchronize_now(page: Page, queued_jobs: list[int]) -> SyncRun:
    """Press "Synchronize now", play the worker, and wait until the page shows the outcome."""
    from playwright.sync_api import expect

    page.click("button:has-text('Synchronize now')")
    expect(page.locator(".messages")).to_contain_text("Synchronization started")
    assert len(queued_jobs) == 1
    run = sync.execute_run(queued_jobs.pop())
    assert run.status == RunStatus.SUCCEEDED, (run.status, run.text, run.hold_texts)
    expect(page.locator("#run-progress [data-run-status]")).to_have_attribute(
        "data-run-status", "succeeded"
    )
    return run


def open_employee(page: Page, base: str, employee: Employee) -> None:
    """Find the employee by e-mail on the list and open their page."""
    page.goto(f"{base}/c/nordlicht/employees/")
    page.fill("input[name=q]", employee.email)
    page.click("form[role=search] button[type=submit]")
    page.get_by_role("link", name=f"{employee.last_name}, {employee.first_name}").click()
    page.wait_for_url(re.compile(rf"/employees/{employee.pk}/$"))


def personio_id(employee: Employee) -> int:
    assert employee.personio_id is not None
    return employee.personio_id


def month_text(day: dt.date) -> str:
    return Month.of(day).first_day.strftime("%B %Y")  # English month names: the page is English


def test_leavers_deletion_disconnect_and_reconnect_without_duplicates(
    browser_page: Page,
    log_in: Callable[[Page, str], None],
    sandbox: SandboxHandle,
    queued_jobs: list[int],
    live_server: Any,
) -> None:
    from playwright.sync_api import expect

    page = browser_page
    company: Company = make_company("Nordlicht GmbH", slug="nordlicht")
    make_hr_admin(company, email=HR)
    base = live_server.url
    integration_url = f"{base}/c/nordlicht/personio/"

    # Steps 6-8: connect, "Integration active", the first sync.
    log_in(page, HR)
    page.goto(integration_url)
    page.fill("#id_client_id", sandbox.client_id)
    page.fill("#id_client_secret", sandbox.client_secret)
    page.click("main button:has-text('Connect')")
    expect(page.locator("#integration-status")).to_have_text("Integration active")
    assert len(queued_jobs) == 1
    first = sync.execute_run(queued_jobs.pop())
    assert first.status == RunStatus.SUCCEEDED, first.text
    expect(page.locator("#run-progress [data-run-status]")).to_have_attribute(
        "data-run-status", "succeeded"
    )
    expect(page.locator("#run-progress")).to_contain_text(f"{first.counts['created']} created")

    today = company_today(company)
    leaver, late, deleted, keeper = (
        Employee.objects.filter(
            company=company, status=EmployeeStatus.ACTIVE, personio_id__isnull=False
        )
        .exclude(email="")
        .order_by("pk")[:4]
    )
    meal = EmployeeBenefit.objects.create(
        company=company,
        employee=keeper,
        kind=BenefitType.MEAL,
        monthly_amount=Decimal("108.45"),
        start_month=Month.of(today).previous().first_day,
    )

    # FAQ: a leaving date set in Personio → "Leaving planned", its month the last working month.
    leaving = Month.of(today).next().first_day + dt.timedelta(days=14)
    sandbox.state.patch_employee(personio_id(leaver), {"termination_date": leaving.isoformat()})
    run = synchronize_now(page, queued_jobs)
    assert run.counts["leaving"] == 1
    expect(page.locator("#run-progress")).to_contain_text("1 leaving")
    open_employee(page, base, leaver)
    expect(page.locator(".status-line")).to_contain_text(
        f"Leaving planned · last month {month_text(leaving)}"
    )
    expect(page.locator("dl.facts")).to_contain_text(month_text(leaving))

    # FAQ: a leaving entered late (a past month) → "Leaving planned" ending this month.
    past = Month.of(today).previous().previous().first_day + dt.timedelta(days=9)
    sandbox.state.patch_employee(personio_id(late), {"termination_date": past.isoformat()})
    page.goto(integration_url)
    synchronize_now(page, queued_jobs)
    expect(page.locator("#run-progress")).to_contain_text("1 leaving")
    open_employee(page, base, late)
    expect(page.locator(".status-line")).to_contain_text(
        f"Leaving planned · last month {month_text(today)}"
    )

    # Deleted in Personio → flagged, not deleted.
    sandbox.state.delete_employee(personio_id(deleted))
    page.goto(integration_url)
    run = synchronize_now(page, queued_jobs)
    assert run.counts["flagged_missing"] == 1
    open_employee(page, base, deleted)
    expect(page.locator(".status-line")).to_contain_text("No longer in Personio")
    expect(page.locator("main")).to_contain_text("This employee is no longer in Personio")

    page.goto(f"{base}/c/nordlicht/employees/")
    all_tab = page.locator("nav.tabs a").first
    expect(all_tab).to_contain_text("All")
    employees_before = all_tab.locator(".count").inner_text()
    assert int(employees_before) == Employee.objects.filter(company=company).count()

    # FAQ: disconnecting does not touch the benefits.
    page.goto(integration_url)
    page.click("text=Disconnect Personio")
    expect(page.locator("main")).to_contain_text(f"Your {employees_before} employees stay")
    page.click("main button:has-text('Disconnect')")
    expect(page.locator("#integration-status")).to_have_text("Not connected")
    open_employee(page, base, keeper)
    benefit_row = page.locator("main table tbody tr", has_text="Meal allowance")
    expect(benefit_row).to_contain_text("108.45")
    expect(benefit_row.locator("td").nth(2)).to_have_text("—")  # no end month

    # Reconnect with new access data of the same Personio account: linked again, no duplicates.
    credential = sandbox.state.create_credential(None)
    page.goto(integration_url)
    page.fill("#id_client_id", credential.client_id)
    page.fill("#id_client_secret", credential.client_secret)
    page.click("main button:has-text('Connect')")
    expect(page.locator("#integration-status")).to_have_text("Integration active")
    assert len(queued_jobs) == 1
    again = sync.execute_run(queued_jobs.pop())
    assert again.status == RunStatus.SUCCEEDED, again.text
    expect(page.locator("#run-progress")).to_contain_text("0 created")
    page.goto(f"{base}/c/nordlicht/employees/")
    expect(page.locator("nav.tabs a").first.locator(".count")).to_have_text(employees_before)
    assert Employee.objects.filter(company=company).count() == int(employees_before)
    meal.refresh_from_db()
    assert meal.end_month is None
