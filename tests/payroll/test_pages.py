"""The HR admin's payroll pages: the month's figures, download, download again, close, settings;
and the voucher Freigrenze warning on the benefit form. In English and German."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import translation

from benefitsync.accounts.models import User
from benefitsync.audit.models import AuditEvent
from benefitsync.benefits.models import BenefitType, EmployeeBenefit
from benefitsync.companies.models import Company
from benefitsync.employees.services import company_today
from benefitsync.lib.months import Month
from benefitsync.payroll.models import ClosedMonth, PayrollExport
from tests.conftest import ClientFor
from tests.factories import make_benefit, make_employee
from tests.payroll.conftest import Scenario

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english_afterwards() -> Iterator[None]:
    yield
    translation.activate("en")


def url(name: str, company: Company, **kwargs: object) -> str:
    return reverse(f"payroll:{name}", kwargs={"slug": company.slug, **kwargs})


def test_the_page_shows_the_months_figures_and_what_cannot_be_imported(
    scenario: Scenario, hr_a: User, client_for: ClientFor
) -> None:
    response = client_for(hr_a).get(url("overview", scenario.company) + "?month=2026-01")
    html = response.content.decode()
    assert response.status_code == 200
    for text in ("Payroll 2026-01", "Clara Cord", "28.01 €", "6.16 €", "4201", "Open"):
        assert text in html, text
    assert "Gustav Gans has no personnel number" in html
    assert "Frida Fern" not in html  # left before January
    assert "over the 50 € Freigrenze" in html


def test_the_page_speaks_german(scenario: Scenario, hr_a: User, client_for: ClientFor) -> None:
    response = client_for(hr_a).get(
        url("overview", scenario.company) + "?month=2026-01", headers={"accept-language": "de"}
    )
    html = response.content.decode()
    expected = ["Lohnabrechnung 2026-01", "Personalnummer", "steuerfrei", "Essenszuschuss"]
    expected += ["28,01 €", "Datei herunterladen", "Gesetzliche Werte 2026", "Lohnart"]
    for text in expected:
        assert text in html, text
    for english in ("Payroll month", "tax-free", "Meal allowance", "Download file"):
        assert english not in html, english


def test_downloading_records_the_export_and_it_downloads_again_unchanged(
    scenario: Scenario, hr_a: User, client_for: ClientFor
) -> None:
    client = client_for(hr_a)
    response = client.post(url("export", scenario.company), {"month": "2026-01", "format": "csv"})
    assert response.status_code == 200
    assert response["Content-Disposition"] == (
        'attachment; filename="payroll-alpha-2026-01-benefits.csv"'
    )
    export = PayrollExport.objects.get()
    assert export.created_by == hr_a and response.content == bytes(export.content)
    again = client.get(url("download", scenario.company, pk=export.pk))
    assert again.content == response.content
    assert again["X-Checksum-SHA256"] == hashlib.sha256(response.content).hexdigest()
    page = client.get(url("overview", scenario.company) + "?month=2026-01").content.decode()
    assert "hr@alpha.example" in page and export.checksum[:10] in page


def test_lodas_without_datev_numbers_is_explained_not_downloaded(
    company_a: Company, hr_a: User, client_for: ClientFor
) -> None:
    response = client_for(hr_a).post(
        url("export", company_a), {"month": "2026-01", "format": "datev-lodas"}, follow=True
    )
    assert "Set the DATEV consultant and client number" in response.content.decode()
    assert not PayrollExport.objects.exists()


def test_the_hr_admin_closes_a_month(scenario: Scenario, hr_a: User, client_for: ClientFor) -> None:
    client = client_for(hr_a)
    response = client.post(url("close", scenario.company), {"month": "2026-01"}, follow=True)
    assert "2026-01 is closed." in response.content.decode()
    assert ClosedMonth.objects.get().closed_by == hr_a
    assert "Closed" in response.content.decode()


def test_settings_are_saved_and_audited(
    company_a: Company, hr_a: User, client_for: ClientFor
) -> None:
    client = client_for(hr_a)
    assert client.get(url("settings", company_a)).status_code == 200
    data = {
        "consultant_number": "1234567",
        "client_number": "12345",
        "cutoff_day": "18",
        "wage_type_voucher_tax_free": "4100",
        "wage_type_meal_taxable": "4201",
    }
    response = client.post(url("settings", company_a), data)
    assert response.status_code == 302
    event = AuditEvent.objects.get(action="payroll.settings")
    assert event.actor == hr_a
    assert event.details["changes"]["cutoff_day"] == [20, 18]


@pytest.mark.parametrize(
    ("field", "value"),
    [("consultant_number", "12"), ("client_number", "123456"), ("wage_type_meal_taxable", "A1")],
)
def test_settings_refuse_numbers_datev_cannot_read(
    company_a: Company, hr_a: User, client_for: ClientFor, field: str, value: str
) -> None:
    data = {"consultant_number": "1234567", "client_number": "12345", "cutoff_day": "20"}
    data[field] = value
    response = client_for(hr_a).post(url("settings", company_a), data)
    assert response.status_code == 200 and "field-error" in response.content.decode()
    assert not AuditEvent.objects.filter(action="payroll.settings").exists()


# --- the voucher Freigrenze warning on the benefit form ----------------------------------------


def _add_voucher(client: Client, company: Company, amount: str, language: str = "en") -> str:
    employee = make_employee(company)
    month = Month.of(company_today(company))
    response = client.post(
        reverse("benefits:add", kwargs={"slug": company.slug, "employee_id": employee.pk}),
        {"kind": BenefitType.VOUCHER, "monthly_amount": amount, "start_month": str(month)},
        follow=True,
        headers={"accept-language": language},
    )
    assert response.status_code == 200
    assert EmployeeBenefit.objects.filter(employee=employee, monthly_amount=Decimal(amount))
    return response.content.decode()


def test_a_voucher_over_50_euro_is_saved_with_a_warning(
    company_a: Company, hr_a: User, client_for: ClientFor
) -> None:
    html = _add_voucher(client_for(hr_a), company_a, "50.01")
    assert "message-warning" in html
    assert "over the 50 € limit for non-cash benefits" in html


def test_the_warning_speaks_german(company_a: Company, hr_a: User, client_for: ClientFor) -> None:
    html = _add_voucher(client_for(hr_a), company_a, "60", language="de")
    assert "Sachbezugsfreigrenze von 50 €" in html and "60,00 €" in html


def test_a_voucher_of_50_euro_gets_no_warning(
    company_a: Company, hr_a: User, client_for: ClientFor
) -> None:
    assert "message-warning" not in _add_voucher(client_for(hr_a), company_a, "50.00")


def test_changing_a_voucher_to_over_50_euro_warns(
    company_a: Company, hr_a: User, client_for: ClientFor
) -> None:
    employee = make_employee(company_a)
    month = Month.of(company_today(company_a))
    benefit = make_benefit(
        employee,
        kind=BenefitType.VOUCHER,
        monthly_amount=Decimal("40"),
        start_month=month.first_day,
    )
    response = client_for(hr_a).post(
        reverse("benefits:edit", kwargs={"slug": company_a.slug, "pk": benefit.pk}),
        {"monthly_amount": "55", "start_month": str(month)},
        follow=True,
    )
    assert "over the 50 € limit for non-cash benefits" in response.content.decode()


def test_a_meal_allowance_over_50_euro_gets_no_voucher_warning(
    company_a: Company, hr_a: User, client_for: ClientFor
) -> None:
    employee = make_employee(company_a)
    month = Month.of(company_today(company_a))
    response = client_for(hr_a).post(
        reverse("benefits:add", kwargs={"slug": company_a.slug, "employee_id": employee.pk}),
        {"kind": BenefitType.MEAL, "monthly_amount": "115.05", "start_month": str(month)},
        follow=True,
    )
    assert "message-warning" not in response.content.decode()


def test_a_long_month_shows_its_first_lines_and_the_totals_of_all(
    scenario: Scenario, hr_a: User, client_for: ClientFor, monkeypatch: pytest.MonkeyPatch
) -> None:
    from benefitsync.payroll import views

    monkeypatch.setattr(views, "PAGE_ROWS", 3)
    html = client_for(hr_a).get(url("overview", scenario.company) + "?month=2026-01").content
    text = html.decode()
    assert "5 more lines are in the file." in text  # 8 lines, 3 shown
    assert "Emil Eck" not in text
    # All 8 lines in the totals: tax-free 44.00 + 28.01 + 58.00 + 30.00 = 160.01.
    assert "160.01 €" in text
