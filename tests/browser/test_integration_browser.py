"""The seed's steps 6-8 in a real browser: log in, connect with wrong then right access data, see
"Integration active", press "Synchronize now" and watch the result appear without a reload.

Debian's chromium through Playwright (never `playwright install`), against pytest-django's live
server and a sandbox Personio on loopback. The sync job is held in a list instead of a worker, so
the test decides when it runs and the page must notice by itself (its status poller).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from benefitsync.companies.models import Company
from benefitsync.integrations.personio import sync
from benefitsync.integrations.personio.models import RunStatus, SyncRun
from benefitsync.integrations.personio.sandbox.server import SandboxHandle
from tests.browser.conftest import CHROMIUM_ARGS
from tests.factories import PASSWORD, make_company, make_hr_admin

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
]


def test_connect_wrong_then_right_and_watch_synchronize_now(
    chromium: str,
    browser_env: None,
    sandbox: SandboxHandle,
    queued_jobs: list[int],
    live_server: Any,
    tmp_path: Path,
) -> None:
    from playwright.sync_api import expect, sync_playwright

    company: Company = make_company("Nordlicht GmbH", slug="nordlicht")
    make_hr_admin(company, email="hr@nordlicht.example")
    base = live_server.url

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.set_default_timeout(15_000)
        try:
            page.goto(f"{base}/login/")
            page.fill("input[name=username]", "hr@nordlicht.example")
            page.fill("input[type=password]", PASSWORD)
            page.click("main button[type=submit]")
            page.goto(f"{base}/c/nordlicht/personio/")
            expect(page.locator("#integration-status")).to_have_text("Not connected")

            # Step 7 with a typo in the secret: a clear error, nothing stored.
            page.fill("#id_client_id", sandbox.client_id)
            page.fill("#id_client_secret", "not-the-secret")
            page.click("main button:has-text('Connect')")
            expect(page.get_by_role("alert")).to_contain_text("did not accept")
            expect(page.locator("#id_client_secret")).to_have_value("")

            # Step 7 again, right: step 8's green "Integration active".
            page.fill("#id_client_secret", sandbox.client_secret)
            page.click("main button:has-text('Connect')")
            expect(page.locator("#integration-status")).to_have_text("Integration active")
            assert sandbox.client_secret not in page.content()

            # The first sync is queued; the page says so and finds the result by itself.
            expect(page.locator("#run-progress")).to_contain_text("Queued")
            assert len(queued_jobs) == 1
            sync.execute_run(queued_jobs.pop())
            expect(page.locator("#run-progress [data-run-status]")).to_have_attribute(
                "data-run-status", "succeeded"
            )
            expect(page.locator("#run-progress")).to_contain_text("20 created")

            # "Synchronize now": a manual run appears and its result without a reload.
            page.click("button:has-text('Synchronize now')")
            expect(page.locator(".messages")).to_contain_text("Synchronization started")
            assert len(queued_jobs) == 1
            run = sync.execute_run(queued_jobs.pop())
            assert run.trigger == "manual" and run.status == RunStatus.SUCCEEDED
            expect(page.locator("#run-progress")).to_contain_text("unchanged")
            page.click("#run-progress a")
            expect(page.locator("h1")).to_contain_text(f"#{run.pk}")
        except Exception:
            page.screenshot(path=str(tmp_path / "failure.png"), full_page=True)
            print(f"screenshot: {tmp_path / 'failure.png'}")
            raise
        finally:
            browser.close()
    assert SyncRun.objects.filter(company=company).count() == 2


def test_held_run_confirm_disconnect_and_german(
    chromium: str,
    browser_env: None,
    sandbox: SandboxHandle,
    queued_jobs: list[int],
    live_server: Any,
    tmp_path: Path,
) -> None:
    from playwright.sync_api import expect, sync_playwright

    from benefitsync.employees.models import Employee
    from benefitsync.integrations.personio import services

    company: Company = make_company("Nordlicht GmbH", slug="nordlicht")
    make_hr_admin(company, email="hr@nordlicht.example")
    services.do_connect_personio(
        company,
        client_id=sandbox.client_id,
        client_secret=sandbox.client_secret,
        acting_user=None,
        first_sync=False,
    )
    sync.execute_run(sync.request_sync(company, "manual", enqueue=False).pk)
    employees = Employee.objects.filter(company=company).count()
    for record in sandbox.state.list_flat():  # Personio suddenly delivers nobody
        sandbox.state.delete_employee(record["id"])
    base = live_server.url

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.set_default_timeout(15_000)
        try:
            page.goto(f"{base}/login/")
            page.fill("input[name=username]", "hr@nordlicht.example")
            page.fill("input[type=password]", PASSWORD)
            page.click("main button[type=submit]")
            page.goto(f"{base}/c/nordlicht/personio/")
            page.click("button:has-text('Synchronize now')")
            sync.execute_run(queued_jobs.pop())
            # The poller sees "held" and reloads: the review with Confirm / Discard appears.
            expect(page.locator("#held-title")).to_be_visible()
            expect(page.locator("main table")).to_contain_text("No longer in Personio")
            page.click("button:has-text('Confirm and apply')")
            expect(page.locator(".messages")).to_contain_text("was applied")
            assert Employee.objects.filter(company=company, missing_from_personio=True).exists()

            page.click("text=Disconnect Personio")
            expect(page.locator("main")).to_contain_text(f"Your {employees} employees stay")
            page.click("main button:has-text('Disconnect')")
            expect(page.locator("#integration-status")).to_have_text("Not connected")
            assert Employee.objects.filter(company=company).count() == employees

            page.select_option("#language-switch", "de")
            expect(page.locator("h1")).to_have_text("Personio-Integration")
            expect(page.locator("#integration-status")).to_have_text("Nicht verbunden")
        except Exception:
            page.screenshot(path=str(tmp_path / "failure.png"), full_page=True)
            print(f"screenshot: {tmp_path / 'failure.png'}")
            raise
        finally:
            browser.close()
