"""Issue 17 in a real browser: an HR admin connects, sees "Webhooks active", and a hire made in
Personio appears in the employee list without anyone clicking "Synchronize now" — at 390 px, in
German. Deliveries are real HTTP from the sandbox to pytest-django's live server; the job runs in
the receiving thread (Huey immediate), as a worker would run it within seconds.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import pytest
from django.conf import LazySettings
from huey.contrib.djhuey import HUEY

from benefitsync.companies.models import Company
from benefitsync.employees.models import Employee
from benefitsync.integrations.personio.sandbox.server import SandboxHandle
from tests.browser.conftest import CHROMIUM_ARGS
from tests.conftest import stop_deliveries
from tests.factories import make_company, make_hr_admin

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture
def webhooks_to_live_server(
    settings: LazySettings, live_server: Any, sandbox: SandboxHandle
) -> Iterator[None]:
    settings.PERSONIO_WEBHOOKS = True
    settings.PUBLIC_URL = live_server.url
    settings.WEBHOOK_COALESCE_SECONDS = 0
    immediate, HUEY.immediate = HUEY.immediate, True
    yield
    stop_deliveries(sandbox)
    HUEY.immediate = immediate


def test_a_hire_in_personio_appears_in_the_list_without_a_click_in_german_at_390px(
    chromium: str,
    browser_env: None,
    sandbox: SandboxHandle,
    webhooks_to_live_server: None,
    live_server: Any,
    log_in: Callable[[Page, str], None],
) -> None:
    from playwright.sync_api import expect, sync_playwright

    company: Company = make_company("Nordlicht GmbH", slug="nordlicht")
    make_hr_admin(company, email="hr@nordlicht.example")
    base = live_server.url
    errors: list[str] = []

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        context = browser.new_context(
            viewport={"width": 390, "height": 844}, extra_http_headers={"Accept-Language": "de"}
        )
        page = context.new_page()
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.set_default_timeout(15_000)
        try:
            log_in(page, "hr@nordlicht.example")
            page.goto(f"{base}/c/nordlicht/personio/")
            page.fill("#id_client_id", sandbox.client_id)
            page.fill("#id_client_secret", sandbox.client_secret)
            page.click("main button:has-text('Verbinden')")
            expect(page.locator("#integration-status")).to_have_text("Integration aktiv")
            arrival = page.locator("#arrival")
            expect(arrival).to_contain_text("Wie Änderungen ankommen")
            expect(arrival).to_contain_text("Webhooks aktiv")
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= 390, f"the page is {width} px wide at 390 px"

            hired = sandbox.state.create_employee(
                {
                    "first_name": "Wiebke",
                    "last_name": "Webhook",
                    "email": "wiebke.webhook@example.com",
                    "hire_date": "2026-11-01",
                }
            )
            page.goto(f"{base}/c/nordlicht/employees/?q=Webhook")
            for _ in range(50):
                if Employee.objects.filter(personio_id=hired).exists():
                    break
                page.wait_for_timeout(200)
            page.reload()
            expect(page.locator("main")).to_contain_text("Wiebke")

            page.goto(f"{base}/c/nordlicht/personio/runs/")
            expect(page.locator("main")).to_contain_text("Von Personio gemeldete Änderung")
            page.goto(f"{base}/c/nordlicht/personio/")
            expect(page.locator("#arrival")).to_contain_text("Letztes empfangenes Ereignis")
            assert not errors, errors
        finally:
            browser.close()
