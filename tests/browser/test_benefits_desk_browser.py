"""The benefits desk and the employee area in a real browser (issue 15's "Done when").

An employee who reads the portal in German submits two receipts; the HR admin (in English) sees
the count in the navigation, previews each document, approves one for less than its amount and
rejects the other with a reason; the employee sees both decisions in German, and the decision
e-mails are German too. Then the employee list filters and exports, and every main page is
measured at 390 px: none may be wider than the screen.
"""

from __future__ import annotations

import datetime as dt
import re
import struct
import zlib
from collections.abc import Callable
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import pytest
from huey.contrib.djhuey import HUEY

from benefitsync.benefits.models import BenefitType, EmployeeBenefit, Receipt, ReceiptStatus
from benefitsync.benefits.vouchers import do_select_voucher, issue_due_vouchers
from benefitsync.companies.models import Company
from benefitsync.employees.models import Employee, EmployeeStatus
from benefitsync.employees.services import company_today
from benefitsync.invitations.models import OutboundEmail
from benefitsync.invitations.outbox import message_body
from benefitsync.invitations.services import do_invite
from benefitsync.lib.months import Month
from tests.factories import make_company, make_employee, make_hr_admin, make_user

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

HR = "hr@nordlicht.example"
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
GERMAN_MONTHS = [
    "Januar",
    "Februar",
    "März",
    "April",
    "Mai",
    "Juni",
    "Juli",
    "August",
    "September",
    "Oktober",
    "November",
    "Dezember",
]


def png(width: int = 40, height: int = 40) -> bytes:
    """A real (red) PNG, so the preview has something to draw."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    raw = b"".join(b"\x00" + b"\xe0\x30\x30" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def german_month(day: dt.date) -> str:
    return f"{GERMAN_MONTHS[day.month - 1]} {day.year}"


def new_page(browser: Browser, width: int = 1280) -> Page:
    page = browser.new_page(viewport={"width": width, "height": 900})
    page.set_default_timeout(15_000)
    return page


def no_wider_than_the_screen(page: Page) -> int:
    """How many pixels the page is wider than its viewport (0 when it fits)."""
    return int(
        page.evaluate(
            "() => Math.max(document.documentElement.scrollWidth, document.body.scrollWidth)"
            " - window.innerWidth"
        )
    )


@pytest.fixture
def nordlicht(db: None) -> dict[str, Any]:
    company: Company = make_company("Nordlicht GmbH", slug="nordlicht")
    make_hr_admin(company, email=HR)
    today = company_today(company)
    user = make_user("jana.neumann@nordlicht.example")
    jana = make_employee(
        company,
        first_name="Jana",
        last_name="Neumann",
        email=user.email,
        user=user,
        invitation_state="signed_up",
    )
    meal = EmployeeBenefit.objects.create(
        company=company,
        employee=jana,
        kind=BenefitType.MEAL,
        monthly_amount=Decimal("100.00"),
        start_month=Month.of(today).previous().first_day,
    )
    EmployeeBenefit.objects.create(
        company=company,
        employee=jana,
        kind=BenefitType.VOUCHER,
        monthly_amount=Decimal("50.00"),
        start_month=Month.of(today).previous().first_day,
    )
    do_select_voucher(jana, month=Month.of(today), provider="rewe", today=today, acting_user=None)
    issue_due_vouchers(company, today=today)
    leaving = make_employee(
        company,
        first_name="Lars",
        last_name="Lindqvist",
        status=EmployeeStatus.LEAVING,
        last_working_month=Month.of(today).next().first_day,
    )
    left = make_employee(company, first_name="Lea", last_name="Lorenz", status=EmployeeStatus.LEFT)
    missing = make_employee(
        company, first_name="Mia", last_name="Maurer", missing_from_personio=True
    )
    return {
        "company": company,
        "today": today,
        "jana": jana,
        "meal": meal,
        "leaving": leaving,
        "left": left,
        "missing": missing,
    }


def test_employee_submits_two_receipts_hr_decides_both_and_the_employee_reads_them_in_german(
    browser_page: Page,
    log_in: Callable[[Page, str], None],
    live_server: Any,
    nordlicht: dict[str, Any],
) -> None:
    from playwright.sync_api import expect

    base = live_server.url
    today: dt.date = nordlicht["today"]
    jana: Employee = nordlicht["jana"]
    employee_page = browser_page

    # The employee chooses German and submits two receipts for this month's meal allowance.
    log_in(employee_page, jana.email)
    employee_page.goto(f"{base}/me/receipts/")
    employee_page.select_option("#language-switch", "de")
    expect(employee_page.locator("h1")).to_have_text("Belege")
    target = employee_page.locator("#receipt-target")
    expect(target.locator("option").first).to_contain_text(
        f"Essenszuschuss · {german_month(today)} — noch 100,00 €"
    )
    expect(employee_page.locator("[data-left-hint]")).to_have_text(
        "In diesem Monat noch 100,00 € verfügbar"
    )
    for amount, name, content, mime in (
        ("38.50", "kantine.pdf", PDF, "application/pdf"),
        ("24.00", "bistro.png", png(), "image/png"),
    ):
        employee_page.fill("#receipt-amount", amount)
        employee_page.set_input_files(
            "#receipt-file", files=[{"name": name, "mimeType": mime, "buffer": content}]
        )
        employee_page.click("main button:has-text('Beleg einreichen')")
        expect(employee_page.locator(".messages")).to_contain_text("Beleg eingereicht")
    expect(employee_page.locator("#my-receipts li")).to_have_count(2)
    expect(employee_page.locator("#my-receipts")).to_contain_text("Eingereicht")
    # What is left counts the receipts waiting for a decision: 100 - 38.50 - 24.00.
    expect(target.locator("option").first).to_contain_text("noch 37,50 €")

    # The HR admin (English) finds both in the inbox, counted in the navigation.
    browser = employee_page.context.browser
    assert browser is not None
    hr_page = new_page(browser)
    log_in(hr_page, HR)
    hr_page.goto(f"{base}/c/nordlicht/employees/")
    expect(hr_page.locator(".site-nav a", has_text="Receipts").locator(".nav-count")).to_have_text(
        "2"
    )
    hr_page.click(".site-nav a:has-text('Receipts')")
    expect(hr_page.locator("#receipts tbody tr")).to_have_count(2)
    hr_page.locator("#receipts tbody tr").first.get_by_role("link", name="Check").click()

    # First receipt (the PDF): previewed in a frame, approved for 30 € instead of 38.50 €.
    expect(hr_page.locator("h1")).to_have_text("Receipt of Jana Neumann")
    expect(hr_page.locator("iframe.preview")).to_be_visible()
    expect(hr_page.locator("#approved-amount")).to_have_value("38.50")
    hr_page.fill("#approved-amount", "30.00")
    hr_page.click("button[value=approve]")
    expect(hr_page.locator(".messages")).to_contain_text("Decision saved")

    # The next open receipt follows: the PNG, drawn inline; rejected with a reason.
    image = hr_page.locator("img.preview")
    expect(image).to_be_visible()
    assert hr_page.evaluate("img => img.naturalWidth", image.element_handle()) == 40
    hr_page.click("button[value=reject]")
    expect(hr_page.locator(".refusal")).to_contain_text("Please give a reason")
    hr_page.fill("#reject-reason", "Bitte den Bewirtungsbeleg mit Einzelposten hochladen.")
    hr_page.click("button[value=reject]")
    expect(hr_page.locator(".messages")).to_contain_text("Decision saved")
    expect(hr_page.locator("main")).to_contain_text("No receipt is waiting for a decision.")
    expect(hr_page.locator(".site-nav .nav-count")).to_have_count(0)

    approved, rejected = Receipt.objects.filter(employee=jana).order_by("created_at")
    assert approved.status == ReceiptStatus.APPROVED and approved.approved_amount == Decimal("30")
    assert rejected.status == ReceiptStatus.REJECTED

    # The employee sees both decisions, in German.
    employee_page.reload()
    mine = employee_page.locator("#my-receipts")
    expect(mine.locator("li.receipt-approved")).to_contain_text("Genehmigt")
    expect(mine.locator("li.receipt-approved")).to_contain_text("30,00 € werden erstattet")
    expect(mine.locator("li.receipt-rejected")).to_contain_text("Abgelehnt")
    expect(mine.locator("li.receipt-rejected")).to_contain_text(
        "Begründung: Bitte den Bewirtungsbeleg mit Einzelposten hochladen."
    )
    # The decision e-mails speak German too (the language the receipts were submitted in).
    subjects = sorted(
        OutboundEmail.objects.filter(key__startswith="receipt:").values_list("subject", flat=True)
    )
    assert subjects == [
        f"Ihr Beleg für {german_month(today)} wurde abgelehnt",
        f"Ihr Beleg für {german_month(today)} wurde genehmigt",
    ]
    hr_page.close()


def test_the_employee_list_filters_sorts_and_exports_for_excel(
    browser_page: Page,
    log_in: Callable[[Page, str], None],
    live_server: Any,
    nordlicht: dict[str, Any],
) -> None:
    from playwright.sync_api import expect

    page = browser_page
    base = live_server.url
    log_in(page, HR)
    page.goto(f"{base}/c/nordlicht/employees/")
    rows = page.locator("#employee-table tbody tr")
    expect(rows).to_have_count(4)

    page.click("nav.tabs a:has-text('No longer in Personio')")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Maurer, Mia")
    page.click("nav.tabs a:has-text('Leaving planned')")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Lindqvist, Lars")
    page.click("nav.tabs a:has-text('Not invited')")
    expect(rows).to_have_count(2)  # Lea has left, Jana signed up

    page.click("nav.tabs a:has-text('All')")
    page.click("#employee-table thead a:has-text('Name')")
    expect(rows.first).to_contain_text("Lindqvist")
    page.click("#employee-table thead a:has-text('Name')")  # again: descending
    expect(rows.first).to_contain_text("Neumann")

    page.click("nav.tabs a:has-text('Left')")
    with page.expect_download() as download_info:
        page.click("a:has-text('Export CSV')")
    path = download_info.value.path()
    content = path.read_bytes()
    assert content.startswith(b"\xef\xbb\xbf"), "Excel needs the BOM to read UTF-8"
    lines = content.decode("utf-8-sig").splitlines()
    assert lines[0].startswith("Last name;First name;Personnel number;E-mail;Status")
    assert len(lines) == 2 and lines[1].startswith("Lorenz;Lea;")


def test_no_main_page_is_wider_than_a_390_px_phone(
    browser_page: Page,
    log_in: Callable[[Page, str], None],
    live_server: Any,
    nordlicht: dict[str, Any],
) -> None:
    base = live_server.url
    company: Company = nordlicht["company"]
    jana: Employee = nordlicht["jana"]
    receipt = Receipt.objects.create(
        company=company,
        employee=jana,
        benefit=nordlicht["meal"],
        month=Month.of(nordlicht["today"]).first_day,
        amount=Decimal("12.34"),
        file="receipts/none.pdf",
    )
    make_user("support@benefitsync.example", is_staff=True)
    newcomer = make_employee(company, first_name="Nele", last_name="Neu", email="nele@n.example")
    # Queued, not sent (jobs wait in the queue for this one call): once sent, the stored e-mail
    # no longer holds the link (issue 13).
    immediate, HUEY.immediate = HUEY.immediate, False
    try:
        do_invite(newcomer, acting_user=None)
    finally:
        HUEY.immediate = immediate
    body = message_body(OutboundEmail.objects.get(key__startswith=f"invite:{newcomer.pk}:"))
    signup = re.search(r"(/me/signup/[^/\s]+/)", body)
    assert signup is not None
    browser = browser_page.context.browser
    assert browser is not None
    too_wide: dict[str, int] = {}
    for who, paths in (
        (
            HR,
            [
                "/c/nordlicht/employees/",
                "/c/nordlicht/employees/?flag=not_invited&sort=-name",
                f"/c/nordlicht/employees/{jana.pk}/",
                f"/c/nordlicht/employees/{jana.pk}/edit/",
                "/c/nordlicht/employees/new/",
                f"/c/nordlicht/benefits/employee/{jana.pk}/add/",
                "/c/nordlicht/benefits/receipts/",
                f"/c/nordlicht/employees/receipts/{receipt.pk}/decide/",
                "/c/nordlicht/benefits/vouchers/",
                f"/c/nordlicht/employees/{jana.pk}/delete/",
                f"/c/nordlicht/employees/{jana.pk}/terminate/",
                "/c/nordlicht/personio/",
                "/c/nordlicht/personio/runs/",
            ],
        ),
        (jana.email, ["/me/", "/me/receipts/"]),
        (
            "support@benefitsync.example",
            [
                "/support/",
                f"/support/companies/{company.pk}/integration/",
                f"/support/companies/{company.pk}/filter/",
            ],
        ),
        ("", ["/login/", signup.group(1)]),
    ):
        for language in ("en", "de"):
            page = new_page(browser, width=390)
            page.context.add_cookies([{"name": "django_language", "value": language, "url": base}])
            if who:
                log_in(page, who)
            for path in paths:
                response = page.goto(f"{base}{path}")
                assert response is not None and response.ok, (path, response and response.status)
                overflow = no_wider_than_the_screen(page)
                if overflow > 0:
                    too_wide[f"{language} {path}"] = overflow
            page.close()
    assert too_wide == {}, f"pages wider than 390 px (by px): {too_wide}"
