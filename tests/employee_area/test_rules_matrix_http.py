"""The status-by-action matrix through HTTP: the employee's pages and the HR-admin actions.

Views use the real clock, so the scenarios are built around the company's real today.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from benefitsync.accounts.models import User
from benefitsync.benefits.models import (
    BenefitType,
    EmployeeBenefit,
    Receipt,
    ReceiptStatus,
    VoucherSelection,
)
from benefitsync.benefits.vouchers import do_select_voucher
from benefitsync.companies.models import Company
from benefitsync.employees.models import Employee, EmployeeStatus
from benefitsync.employees.services import company_today
from benefitsync.lib.months import Month

from .conftest import PDF, build_employee, client_for

Build = Callable[..., Employee]


@pytest.fixture
def today(company: Company) -> dt.date:
    return company_today(company)


@pytest.fixture
def person(company: Company, today: dt.date) -> Build:
    def make(status: str, lwm: Month | None = None) -> Employee:
        return build_employee(company, status, today=today, lwm=lwm)

    return make


def _messages(response: object) -> str:
    return " ".join(str(m) for m in response.context["messages"])  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("status", "which", "allowed", "reason"),
    [
        ("active", "this", True, ""),
        ("active", "next", True, ""),
        ("leaving", "this", True, ""),
        ("leaving", "next", False, "only months up to"),
        ("left", "this", False, "has left"),
    ],
)
def test_the_voucher_page_allows_and_refuses_selection_by_status(
    person: Build, today: dt.date, status: str, which: str, allowed: bool, reason: str
) -> None:
    employee = person(status)
    month = Month.of(today) if which == "this" else Month.of(today).next()
    client = client_for(employee)
    response = client.post(
        reverse("employee_area:select_voucher"),
        {"month": str(month), "provider": "amazon"},
        follow=True,
    )
    assert response.status_code == 200
    exists = VoucherSelection.objects.filter(employee=employee, month=month.first_day).exists()
    assert exists is allowed
    if not allowed:
        assert reason in _messages(response)


@pytest.mark.parametrize(
    ("status", "earlier", "allowed"),
    [
        ("active", True, True),
        ("leaving", True, True),
        ("left", True, True),
        ("active", False, True),
        ("left", False, False),
    ],
)
def test_the_voucher_page_redeems_by_status_and_month(
    person: Build, today: dt.date, status: str, earlier: bool, allowed: bool
) -> None:
    employee = person(status)
    current = Month.of(today)
    if earlier:
        selection = VoucherSelection.objects.get(
            employee=employee, month=current.previous().first_day
        )
    else:
        selection = VoucherSelection.objects.create(
            company=employee.company,
            employee=employee,
            benefit=EmployeeBenefit.objects.get(employee=employee, kind=BenefitType.VOUCHER),
            month=current.first_day,
            provider="ikea",
            amount=50,
            code="IKEA-X",
            issued_at=dt.datetime.now(dt.UTC),
        )
    client = client_for(employee)
    home = client.get(reverse("employee_area:home"))
    assert selection.code in home.content.decode()
    response = client.post(
        reverse("employee_area:redeem_voucher", args=[selection.pk]), follow=True
    )
    selection.refresh_from_db()
    assert (selection.redeemed_at is not None) is allowed
    if not allowed:
        assert "earlier months" in _messages(response)


@pytest.mark.parametrize(
    ("status", "allowed"), [("active", True), ("leaving", True), ("left", False)]
)
def test_the_receipt_page_accepts_uploads_except_after_leaving(
    person: Build, today: dt.date, status: str, allowed: bool
) -> None:
    employee = person(status)
    meal = EmployeeBenefit.objects.get(employee=employee, kind=BenefitType.MEAL)
    client = client_for(employee)
    page = client.get(reverse("employee_area:receipts"))
    assert page.status_code == 200
    response = client.post(
        reverse("employee_area:receipts"),
        {
            "benefit": meal.pk,
            "month": str(Month.of(today)),
            "amount": "9.90",
            "file": SimpleUploadedFile("bon.pdf", PDF, content_type="application/pdf"),
        },
    )
    assert Receipt.objects.filter(employee=employee).exists() is allowed
    if allowed:
        assert response.status_code == 302
        listing = client.get(reverse("employee_area:receipts")).content.decode()
        assert "9.90" in listing and "Submitted" in listing
    else:
        assert response.status_code == 409
        assert "has left" in response.content.decode()


def test_a_png_renamed_to_pdf_is_fine_but_a_text_file_named_pdf_is_refused(
    person: Build, today: dt.date
) -> None:
    employee = person("active")
    meal = EmployeeBenefit.objects.get(employee=employee, kind=BenefitType.MEAL)
    client = client_for(employee)
    data = {"benefit": meal.pk, "month": str(Month.of(today)), "amount": "3"}
    fake = SimpleUploadedFile("bon.pdf", b"hello, I am text", content_type="application/pdf")
    response = client.post(reverse("employee_area:receipts"), {**data, "file": fake})
    assert response.status_code == 409 and "PDF, JPEG or PNG" in response.content.decode()
    assert not Receipt.objects.filter(employee=employee).exists()


def test_the_employee_pages_are_only_for_employees(hr_client: Client) -> None:
    assert hr_client.get(reverse("employee_area:home")).status_code == 404
    anonymous = Client().get(reverse("employee_area:home"))
    assert anonymous.status_code == 302 and "login" in anonymous["Location"]


def test_an_employee_cannot_redeem_someone_elses_voucher(person: Build) -> None:
    alice, bob = person("active"), person("active")
    bobs = VoucherSelection.objects.filter(employee=bob).first()
    assert bobs is not None
    response = client_for(alice).post(reverse("employee_area:redeem_voucher", args=[bobs.pk]))
    assert response.status_code == 404


# --- HR-admin actions -------------------------------------------------------------------------


def _url(name: str, employee: Employee) -> str:
    return reverse(f"employee_actions:{name}", args=[employee.company.slug, employee.pk])


@pytest.mark.parametrize("status", ["active", "leaving"])
def test_hr_admin_terminates_now_when_no_voucher_is_selected_this_month(
    person: Build, hr_client: Client, status: str
) -> None:
    employee = person(status)
    page = hr_client.get(_url("terminate", employee))
    assert page.status_code == 200 and b"Terminate now" in page.content
    response = hr_client.post(_url("terminate", employee))
    assert response.status_code == 302
    employee.refresh_from_db()
    assert employee.status == EmployeeStatus.LEFT


@pytest.mark.parametrize("status", ["active", "leaving"])
def test_hr_admin_termination_is_refused_with_the_blocking_voucher_named(
    person: Build, hr_client: Client, today: dt.date, status: str
) -> None:
    employee = person(status)
    do_select_voucher(
        employee, month=Month.of(today), provider="zalando", today=today, acting_user=None
    )
    page = hr_client.get(_url("terminate", employee)).content.decode()
    assert "immediate termination is not possible" in page and "Zalando" in page
    response = hr_client.post(_url("terminate", employee))
    assert response.status_code == 409
    employee.refresh_from_db()
    assert employee.status == status


def test_hr_admin_termination_of_someone_who_left_says_so(person: Build, hr_client: Client) -> None:
    employee = person("left")
    assert b"already left" in hr_client.post(_url("terminate", employee)).content


@pytest.mark.parametrize("status", ["active", "leaving", "left"])
def test_hr_admin_deletes_after_the_advice_to_tell_the_employee(
    person: Build, hr_client: Client, status: str
) -> None:
    employee = person(status)
    page = hr_client.get(_url("delete", employee)).content.decode()
    assert "tell the employee" in page and "save their vouchers" in page
    previous = Month.of(company_today(employee.company)).previous()
    label = previous.first_day.strftime("%B %Y")
    assert f"an issued REWE voucher for {label} (50.00 €), not redeemed yet" in page
    response = hr_client.post(_url("delete", employee))
    assert response.status_code == 302
    assert not Employee.objects.filter(pk=employee.pk).exists()


def test_hr_admin_of_another_company_and_employees_get_404_for_the_actions(
    person: Build, other_hr_client: Client
) -> None:
    employee = person("active")
    for name in ("terminate", "delete", "invite"):
        assert other_hr_client.get(_url(name, employee)).status_code == 404
        assert other_hr_client.post(_url(name, employee)).status_code == 404
        assert client_for(employee).post(_url(name, employee)).status_code == 404
        assert Client().post(_url(name, employee)).status_code == 302  # to the login page
    assert Employee.objects.get(pk=employee.pk).status == EmployeeStatus.ACTIVE


def test_the_actions_need_the_csrf_token(person: Build, hr_user: User) -> None:
    employee = person("active")
    client = Client(enforce_csrf_checks=True)
    client.force_login(hr_user)
    assert client.post(_url("delete", employee)).status_code == 403
    assert Employee.objects.filter(pk=employee.pk).exists()


def test_hr_admin_invites_and_resends(company: Company, hr_client: Client) -> None:
    employee = Employee.objects.create(
        company=company, first_name="Ina", last_name="Vite", email="ina@acme.test"
    )
    assert hr_client.post(_url("invite", employee)).status_code == 302
    assert b"new invitation link" in hr_client.get(_url("invite", employee)).content
    assert hr_client.post(_url("invite", employee)).status_code == 302
    assert employee.invitations.count() == 2


def test_hr_admin_approves_a_receipt_once_and_can_open_its_file(
    person: Build, hr_client: Client, other_hr_client: Client, today: dt.date
) -> None:
    employee = person("active")
    meal = EmployeeBenefit.objects.get(employee=employee, kind=BenefitType.MEAL)
    client_for(employee).post(
        reverse("employee_area:receipts"),
        {
            "benefit": meal.pk,
            "month": str(Month.of(today)),
            "amount": "4.20",
            "file": SimpleUploadedFile("b.pdf", PDF),
        },
    )
    receipt = Receipt.objects.get(employee=employee)
    url = reverse("employee_actions:receipt_decide", args=[employee.company.slug, receipt.pk])
    file_url = reverse("employee_actions:receipt_file", args=[employee.company.slug, receipt.pk])
    assert other_hr_client.get(url).status_code == 404
    assert other_hr_client.get(file_url).status_code == 404
    assert b"".join(hr_client.get(file_url).streaming_content) == PDF  # type: ignore[attr-defined]
    assert hr_client.post(url, {"decision": "approve"}).status_code == 302
    receipt.refresh_from_db()
    assert receipt.status == ReceiptStatus.APPROVED
    again = hr_client.post(url, {"decision": "reject"})
    assert again.status_code == 409 and b"already been decided" in again.content


def test_refusals_are_shown_in_german_for_german_users(person: Build, today: dt.date) -> None:
    employee = person("left")
    client = client_for(employee)
    response = client.post(
        reverse("employee_area:select_voucher"),
        {"month": str(Month.of(today)), "provider": "amazon"},
        follow=True,
        headers={"accept-language": "de"},
    )
    assert "Die oder der Mitarbeitende ist ausgetreten." in _messages(response)
