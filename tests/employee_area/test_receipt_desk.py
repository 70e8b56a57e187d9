"""The HR admin's receipt desk and the employee's side of it: approve for at most what is left
of the monthly amount, reject with a reason the employee sees, bulk approve, the inbox filters,
the decision e-mail in the employee's language, and the receipt form's choices."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import translation

from benefitsync.benefits.models import (
    BenefitType,
    EmployeeBenefit,
    MonthlyTotal,
    Receipt,
    ReceiptStatus,
)
from benefitsync.benefits.receipts import (
    do_approve_receipt,
    do_approve_receipts,
    do_reject_receipt,
    do_submit_receipt,
    remaining_allowance,
)
from benefitsync.companies.models import Company
from benefitsync.employees.models import Employee
from benefitsync.employees.services import ActionRefused, company_today
from benefitsync.invitations.models import OutboundEmail
from benefitsync.invitations.outbox import message_body
from benefitsync.invitations.services import do_invite
from benefitsync.lib.months import Month

from .conftest import PDF, PNG, build_employee, client_for

Build = Callable[..., Employee]


@pytest.fixture
def today(company: Company) -> dt.date:
    return company_today(company)


@pytest.fixture
def person(company: Company, today: dt.date) -> Build:
    def make(status: str = "active", **kwargs: object) -> Employee:
        return build_employee(company, status, today=today, **kwargs)  # type: ignore[arg-type]

    return make


def _meal(employee: Employee) -> EmployeeBenefit:
    return EmployeeBenefit.objects.get(employee=employee, kind=BenefitType.MEAL)  # 100 € a month


def _submit(employee: Employee, amount: str, today: dt.date, *, content: bytes = PDF) -> Receipt:
    name = "bon.pdf" if content == PDF else "bon.png"
    return do_submit_receipt(
        employee,
        benefit=_meal(employee),
        month=Month.of(today),
        amount=Decimal(amount),
        upload=SimpleUploadedFile(name, content),
        today=today,
        acting_user=None,
    )


def test_approval_grants_the_receipt_amount_and_never_more_than_is_left(
    person: Build, today: dt.date
) -> None:
    employee = person()
    first = _submit(employee, "60.00", today)
    second = _submit(employee, "40.00", today)
    approved = do_approve_receipt(first, acting_user=None)
    assert approved.approved_amount == Decimal("60.00")
    with pytest.raises(ActionRefused, match="cannot exceed the receipt"):
        do_approve_receipt(second, amount=Decimal("41.00"), acting_user=None)
    # A receipt the employee could submit before an earlier one was approved in full: the
    # default approval is capped at what is left, an explicit larger amount is refused.
    over = Receipt.objects.create(
        company=employee.company,
        employee=employee,
        benefit=_meal(employee),
        month=Month.of(today).first_day,
        amount=Decimal("55.00"),
        file=second.file.name,
    )
    do_approve_receipt(second, acting_user=None)
    with pytest.raises(ActionRefused, match="Nothing is left"):
        do_approve_receipt(over, acting_user=None)
    total = MonthlyTotal.objects.get(company=employee.company, kind=BenefitType.MEAL)
    assert total.amount == Decimal("100.00") and total.count == 2


def test_an_explicit_amount_above_what_is_left_is_refused(person: Build, today: dt.date) -> None:
    employee = person()
    first = _submit(employee, "70.00", today)
    do_approve_receipt(first, amount=Decimal("70.00"), acting_user=None)
    second = _submit(employee, "30.00", today)
    Receipt.objects.filter(pk=first.pk).update(approved_amount=Decimal("80.00"))
    with pytest.raises(ActionRefused, match=r"At most 20\.00"):
        do_approve_receipt(second, amount=Decimal("30.00"), acting_user=None)
    assert do_approve_receipt(second, acting_user=None).approved_amount == Decimal("20.00")


def test_submitting_more_than_is_left_of_the_month_is_refused_before_the_upload(
    person: Build, today: dt.date
) -> None:
    employee = person()
    _submit(employee, "80.00", today)
    assert remaining_allowance(_meal(employee), Month.of(today), count_pending=True) == 20
    with pytest.raises(ActionRefused, match=r"Only 20\.00 €"):
        _submit(employee, "20.01", today)
    _submit(employee, "20.00", today)
    with pytest.raises(ActionRefused, match="Nothing is left"):
        _submit(employee, "1.00", today)


def test_a_rejection_needs_a_reason_and_a_decided_receipt_stays_decided(
    person: Build, today: dt.date
) -> None:
    receipt = _submit(person(), "10.00", today)
    with pytest.raises(ActionRefused, match="give a reason"):
        do_reject_receipt(receipt, reason="   ", acting_user=None)
    rejected = do_reject_receipt(receipt, reason="Not a meal receipt", acting_user=None)
    assert rejected.status == ReceiptStatus.REJECTED
    assert rejected.decision_reason == "Not a meal receipt" and rejected.approved_amount is None
    with pytest.raises(ActionRefused, match="already been decided"):
        do_approve_receipt(receipt, acting_user=None)


def test_bulk_approval_approves_each_receipt_and_reports_the_refused(
    person: Build, today: dt.date
) -> None:
    a, b = person(), person()
    ra, rb = _submit(a, "30.00", today), _submit(b, "45.50", today)
    decided = _submit(b, "5.00", today)
    do_reject_receipt(decided, reason="Duplicate", acting_user=None)
    result = do_approve_receipts([ra, rb, decided], acting_user=None)
    assert sorted(result.approved) == sorted([ra.pk, rb.pk])
    assert list(result.refused) == [decided.pk]
    rb.refresh_from_db()
    assert rb.status == ReceiptStatus.APPROVED and rb.approved_amount == Decimal("45.50")


def test_the_decision_email_speaks_the_language_the_employee_submitted_in(
    person: Build, today: dt.date
) -> None:
    employee = person()
    with translation.override("de"):
        german = _submit(employee, "12.00", today)
    english = _submit(employee, "8.00", today)
    do_reject_receipt(german, reason="Unleserlich", acting_user=None)
    do_approve_receipt(english, acting_user=None)
    to_german = OutboundEmail.objects.get(key=f"receipt:{german.pk}:decided")
    assert to_german.to == employee.email
    assert "abgelehnt" in to_german.subject and "Unleserlich" in to_german.body
    assert "Begründung: Unleserlich" in to_german.body and "12,00 €" in to_german.body
    to_english = OutboundEmail.objects.get(key=f"receipt:{english.pk}:decided")
    assert "approved" in to_english.subject and "8.00 € will be reimbursed" in to_english.body


def test_hr_previews_approves_and_rejects_and_the_employee_sees_both(
    person: Build, today: dt.date, hr_client: Client, company: Company
) -> None:
    employee = person()
    first = _submit(employee, "25.00", today, content=PNG)
    second = _submit(employee, "14.90", today)
    page = hr_client.get(reverse("employee_actions:receipt_decide", args=[company.slug, first.pk]))
    html = page.content.decode()
    assert '<img class="preview"' in html and "25.00" in html
    pdf = hr_client.get(reverse("employee_actions:receipt_decide", args=[company.slug, second.pk]))
    assert '<iframe class="preview"' in pdf.content.decode()
    framed = hr_client.get(reverse("employee_actions:receipt_file", args=[company.slug, second.pk]))
    assert framed["X-Frame-Options"] == "SAMEORIGIN"
    # The page policy forbids framing everywhere else; the receipt file may be framed by us.
    assert "frame-ancestors 'self'" in framed["Content-Security-Policy"]

    approve = hr_client.post(
        reverse("employee_actions:receipt_decide", args=[company.slug, first.pk]),
        {"decision": "approve", "approved_amount": "20,00"},
    )
    # On to the next open receipt.
    assert approve.status_code == 302 and approve["Location"].endswith(f"/{second.pk}/decide/")
    refused = hr_client.post(
        reverse("employee_actions:receipt_decide", args=[company.slug, second.pk]),
        {"decision": "reject", "reason": ""},
    )
    assert refused.status_code == 409 and "give a reason" in refused.content.decode()
    hr_client.post(
        reverse("employee_actions:receipt_decide", args=[company.slug, second.pk]),
        {"decision": "reject", "reason": "Please upload the itemised receipt"},
    )
    mine = client_for(employee).get(reverse("employee_area:receipts")).content.decode()
    assert "20.00 € will be reimbursed" in mine
    assert "Please upload the itemised receipt" in mine


def test_the_inbox_lists_open_receipts_by_month_and_employee_and_counts_them_in_the_nav(
    person: Build, today: dt.date, hr_client: Client, company: Company
) -> None:
    anna = person(first_name="Anna", last_name="Albers")
    bert = person(first_name="Bert", last_name="Brandt")
    _submit(anna, "10.00", today)
    decided = _submit(bert, "11.00", today)
    _submit(bert, "12.00", today)
    do_reject_receipt(decided, reason="No", acting_user=None)
    url = reverse("benefits:receipts", args=[company.slug])
    html = hr_client.get(url).content.decode()
    assert "Albers, Anna" in html and "12.00" in html and "11.00" not in html
    assert '<span class="nav-count"' in html and ">2</span>" in html
    only_bert = hr_client.get(url, {"q": "brandt", "status": "all"}).content.decode()
    assert "Albers" not in only_bert and "11.00" in only_bert and "12.00" in only_bert
    other_month = hr_client.get(url, {"month": str(Month.of(today).previous())}).content.decode()
    assert "No receipt matches" in other_month
    bulk = hr_client.post(
        reverse("benefits:receipts_approve", args=[company.slug]),
        {"receipt": [r.pk for r in Receipt.objects.filter(status="submitted")]},
    )
    assert bulk.status_code == 302
    assert not Receipt.objects.filter(status=ReceiptStatus.SUBMITTED).exists()


def test_the_receipt_form_offers_only_months_in_which_the_benefit_is_active(
    company: Company, today: dt.date
) -> None:
    employee = build_employee(company, "active", today=today)
    current = Month.of(today)
    EmployeeBenefit.objects.create(
        company=company,
        employee=employee,
        kind=BenefitType.INTERNET,
        monthly_amount=Decimal("30.00"),
        start_month=current.first_day,
    )
    html = client_for(employee).get(reverse("employee_area:receipts")).content.decode()
    internet = EmployeeBenefit.objects.get(employee=employee, kind=BenefitType.INTERNET)
    assert f'value="{internet.pk}:{current}"' in html
    assert f'value="{internet.pk}:{current.previous()}"' not in html  # not active then
    meal = _meal(employee)
    assert f'value="{meal.pk}:{current.previous()}"' in html


def test_a_leaver_reads_what_they_may_still_do(company: Company, today: dt.date) -> None:
    current = Month.of(today)
    employee = build_employee(company, "leaving", today=today, lwm=current.next())
    html = client_for(employee).get(reverse("employee_area:home")).content.decode()
    with translation.override("en"):
        assert (
            f"Leaving planned: your benefits end with {_label(current.next())}. You can still "
            f"choose a voucher for {_label(current)} and {_label(current.next())}" in html
        )
    left = build_employee(company, "left", today=today)
    html = client_for(left).get(reverse("employee_area:home")).content.decode()
    assert "You can still redeem the vouchers of earlier months" in html


def _label(month: Month) -> str:
    return month.first_day.strftime("%B %Y")


def test_voucher_timing_is_stated_once_and_matches_the_hourly_job(
    company: Company, today: dt.date
) -> None:
    employee = build_employee(company, "active", today=today)
    client = client_for(employee)
    nxt = Month.of(today).next()
    client.post(reverse("employee_area:select_voucher"), {"month": str(nxt), "provider": "ikea"})
    html = client.get(reverse("employee_area:home")).content.decode()
    assert "shortly" not in html and "at the start of the month" not in html
    assert f"Your code arrives on {nxt.first_day.day} {nxt.first_day:%b %Y}" in html


def test_sign_up_shows_the_password_rules_before_the_first_try(
    company: Company, today: dt.date
) -> None:
    employee = build_employee(company, "active", today=today, login=False)
    do_invite(employee, acting_user=None)
    body = message_body(OutboundEmail.objects.get(key__startswith="invite:"))
    match = re.search(r"/me/signup/([^/\s]+)/", body)
    assert match is not None
    token = match.group(1)
    page = Client().get(reverse("employee_area:signup", args=[token]))
    html = page.content.decode()
    assert page.status_code == 200 and 'id="password-rules"' in html
    assert "at least 8 characters" in html
    german = Client().get(
        reverse("employee_area:signup", args=[token]), headers={"accept-language": "de"}
    )
    assert "mindestens 8 Zeichen" in german.content.decode()


def test_the_api_tells_the_employee_the_decision(person: Build, today: dt.date) -> None:
    employee = person()
    receipt = _submit(employee, "10.00", today)
    do_reject_receipt(receipt, reason="Blurred", acting_user=None)
    mine = client_for(employee).get("/api/me/receipts").json()
    assert mine[0]["status"] == "rejected" and mine[0]["decision_reason"] == "Blurred"
    assert mine[0]["approved_amount"] is None


def test_vouchers_by_month_show_who_chose_what_and_who_has_not_chosen(
    person: Build, today: dt.date, hr_client: Client, company: Company
) -> None:
    chooser = person(first_name="Carla", last_name="Chooser")
    person(first_name="Willi", last_name="Waiting")
    url = reverse("benefits:vouchers", args=[company.slug])
    previous = Month.of(today).previous()  # build_employee chose REWE, issued, for last month
    html = hr_client.get(url, {"month": str(previous)}).content.decode()
    assert "Chooser, Carla" in html and "Waiting, Willi" in html and "REWE" in html
    assert "2 vouchers chosen" in html and "0 not chosen yet" in html
    client_for(chooser).post(
        reverse("employee_area:select_voucher"), {"month": str(Month.of(today)), "provider": "ikea"}
    )
    html = hr_client.get(url).content.decode()
    chosen, not_chosen = html.split("Not chosen yet</h2>", 1)
    assert "IKEA" in chosen and "Chooser, Carla" in chosen
    assert "Waiting, Willi" in not_chosen and "Chooser" not in not_chosen
    assert "§ 8 Abs. 2 Satz 11 EStG" in html
