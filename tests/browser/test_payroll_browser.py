"""Payroll as an HR admin in a real browser: open the month from the navigation, download the CSV,
close the month, see the export listed and download it again; German; a 390 px wide phone.

Screenshots of each state go to test-artifacts/payroll-*.png (looked at by hand when the page
changes)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from benefitsync.payroll.models import ClosedMonth, PayrollExport
from tests.browser.conftest import artifact_path
from tests.factories import make_hr_admin
from tests.payroll.conftest import build_scenario

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def company(db: None) -> Any:
    from tests.factories import make_company

    company = make_company("Alpha GmbH", slug="alpha")
    build_scenario(company)
    make_hr_admin(company, email="hr@alpha.example")
    return company


def test_hr_admin_downloads_and_closes_the_payroll_month(
    browser_page: Page, live_server: Any, log_in: Callable[[Page, str], None], company: Any
) -> None:
    from playwright.sync_api import expect

    page = browser_page
    log_in(page, "hr@alpha.example")
    page.goto(f"{live_server.url}/c/alpha/employees/")
    page.click("nav.site-nav a:has-text('Payroll')")
    page.fill("input[name=month]", "2026-01")
    page.click("form.search button:has-text('Show')")
    expect(page.locator("h1")).to_have_text("Payroll 2026-01")
    expect(page.locator(".message-error")).to_contain_text("Gustav Gans has no personnel number")
    expect(page.locator("main table").first).to_contain_text("Clara Cord")
    page.screenshot(path=str(artifact_path("payroll", "overview")), full_page=True)

    page.select_option("select[name=format]", "csv")
    with page.expect_download() as info:
        page.click("button:has-text('Download file')")
    download = info.value
    assert download.suggested_filename == "payroll-alpha-2026-01-benefits.csv"
    content = Path(download.path()).read_bytes()
    assert content.startswith(b"\xef\xbb\xbfPersonnel number;")
    export = PayrollExport.objects.get()
    assert export.checksum == hashlib.sha256(content).hexdigest()

    page.click("button:has-text('Close 2026-01')")
    expect(page.locator(".messages")).to_contain_text("2026-01 is closed.")
    expect(page.locator(".badge").first).to_have_text("Closed")
    assert ClosedMonth.objects.filter(company=company).count() == 1
    with page.expect_download() as again:
        page.click("a:has-text('Download again')")
    assert Path(again.value.path()).read_bytes() == content


def test_the_payroll_page_in_german_on_a_phone(
    browser_page: Page, live_server: Any, log_in: Callable[[Page, str], None], company: Any
) -> None:
    from playwright.sync_api import expect

    page = browser_page
    page.set_viewport_size({"width": 390, "height": 844})
    log_in(page, "hr@alpha.example")
    page.context.set_extra_http_headers({"accept-language": "de"})
    page.goto(f"{live_server.url}/c/alpha/payroll/?month=2026-01")
    expect(page.locator("h1")).to_have_text("Lohnabrechnung 2026-01")
    expect(page.locator("main")).to_contain_text("steuerpflichtig")
    # Nothing wider than the phone: the tables turn into cards.
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, width
    page.screenshot(path=str(artifact_path("payroll", "phone-de-top")))
    page.screenshot(path=str(artifact_path("payroll", "phone-de")), full_page=True)
    page.goto(f"{live_server.url}/c/alpha/payroll/settings/")
    expect(page.locator("h1")).to_have_text("Einstellungen der Lohnabrechnung")
    expect(page.locator("main")).to_contain_text("Essenszuschuss — steuerpflichtig")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.screenshot(path=str(artifact_path("payroll", "settings-de")), full_page=True)
