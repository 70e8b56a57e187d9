"""The month-end job (idempotent) and GDPR deletion (no trace of the person anywhere)."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.core import mail
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.urls import reverse

from benefitsync.accounts.models import User
from benefitsync.audit import services as audit
from benefitsync.benefits.models import (
    BenefitType,
    EmployeeBenefit,
    MonthlyTotal,
    Receipt,
    VoucherSelection,
)
from benefitsync.benefits.monthly import do_month_end
from benefitsync.benefits.receipts import do_decide_receipt, do_submit_receipt
from benefitsync.benefits.vouchers import do_select_voucher
from benefitsync.companies.models import Company
from benefitsync.employees.models import Employee, EmployeeStatus
from benefitsync.employees.services import do_delete_employee
from benefitsync.invitations import outbox
from benefitsync.invitations.services import do_accept_invitation, do_invite
from benefitsync.lib.months import Month

from .conftest import PDF, TODAY, build_employee

CURRENT = Month.of(TODAY)


def _totals(company: Company) -> list[tuple[Any, ...]]:
    return list(
        MonthlyTotal.objects.filter(company=company)
        .order_by("month", "kind")
        .values_list("month", "kind", "amount", "count")
    )


def test_month_end_issues_due_vouchers_and_lets_leavers_leave_once(company: Company) -> None:
    active = build_employee(company, "active", today=TODAY)
    leaving = build_employee(company, "leaving", today=TODAY)
    this_month = do_select_voucher(
        active, month=CURRENT, provider="amazon", today=TODAY, acting_user=None
    )
    next_month = do_select_voucher(
        active, month=CURRENT.next(), provider="ikea", today=TODAY, acting_user=None
    )
    first = do_month_end(company, today=TODAY)
    assert first.issued == [this_month.pk] and first.left == []
    this_month.refresh_from_db()
    code = this_month.code
    assert code.startswith("AMAZ-")
    totals = _totals(company)

    second = do_month_end(company, today=TODAY)
    assert not second.changed
    this_month.refresh_from_db()
    assert this_month.code == code
    assert _totals(company) == totals

    next_day = CURRENT.next().first_day
    third = do_month_end(company, today=next_day)
    assert third.issued == [next_month.pk] and third.left == [leaving.pk]
    assert not do_month_end(company, today=next_day).changed
    leaving.refresh_from_db()
    assert leaving.status == EmployeeStatus.LEFT


def test_month_end_issues_nothing_for_a_month_the_benefit_no_longer_covers(
    company: Company,
) -> None:
    employee = build_employee(company, "active", today=TODAY)
    selection = do_select_voucher(
        employee, month=CURRENT.next(), provider="rewe", today=TODAY, acting_user=None
    )
    EmployeeBenefit.objects.filter(employee=employee).update(end_month=CURRENT.first_day)
    assert do_month_end(company, today=CURRENT.next().first_day).issued == []
    selection.refresh_from_db()
    assert selection.code == ""


def test_month_end_only_touches_its_own_company(company: Company, other_company: Company) -> None:
    ours = build_employee(company, "active", today=TODAY)
    theirs = build_employee(other_company, "active", today=TODAY)
    for person in (ours, theirs):
        do_select_voucher(person, month=CURRENT, provider="rewe", today=TODAY, acting_user=None)
    do_month_end(company, today=TODAY)
    assert VoucherSelection.objects.get(employee=ours, month=CURRENT.first_day).code
    assert not VoucherSelection.objects.get(employee=theirs, month=CURRENT.first_day).code


NAME = ("Quirinella", "Vandersloot")
EMAIL = "Quirinella.Vandersloot@acme.test"


def _every_text_in_the_database() -> list[str]:
    """Every value of every table, as text (raw SQL, so no model can hide anything)."""
    texts: list[str] = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608  # names from introspection
            for row in cursor.fetchall():
                for value in row:
                    if isinstance(value, bytes | memoryview):
                        texts.append(bytes(value).decode("utf-8", "replace"))
                    elif value is not None:
                        texts.append(str(value))
    return texts


def _needles() -> list[str]:
    needles = [*NAME, EMAIL, " ".join(NAME)]
    # JSON columns may store non-ASCII escaped; our needles are ASCII, but check both spellings.
    return sorted({n.lower() for n in needles} | {json.dumps(n)[1:-1].lower() for n in needles})


def test_deleting_an_employee_leaves_no_trace_of_their_name_or_email_and_keeps_the_totals(
    company: Company, hr_user: User, django_capture_on_commit_callbacks: Any
) -> None:
    person = build_employee(
        company,
        "active",
        today=TODAY,
        first_name=NAME[0],
        last_name=NAME[1],
        email=EMAIL,
        login=False,
    )
    # Invitation, e-mail sent, sign-up.
    with django_capture_on_commit_callbacks(execute=True):
        do_invite(person, acting_user=hr_user)
    outbox.send_pending()
    invitation = person.invitations.get()
    # The token exists only in the e-mail.
    token = re.search(r"/me/signup/(\S+)/", mail.outbox[-1].body)
    assert token
    do_accept_invitation(token.group(1), "Sunny-Meadow-77")
    person.refresh_from_db()
    assert person.user is not None
    login_email = person.user.email
    client = Client()
    assert client.login(email=login_email, password="Sunny-Meadow-77")
    # Vouchers, a receipt approved, and the traces others leave: audit, admin history.
    do_select_voucher(person, month=CURRENT, provider="zalando", today=TODAY, acting_user=None)
    do_month_end(company, today=TODAY)
    meal = EmployeeBenefit.objects.get(employee=person, kind=BenefitType.MEAL)
    receipt = do_submit_receipt(
        person,
        benefit=meal,
        month=CURRENT,
        amount=Decimal("23.40"),
        upload=SimpleUploadedFile(f"{NAME[0]}_{NAME[1]}_lunch.pdf", PDF),
        today=TODAY,
        acting_user=person.user,
    )
    do_decide_receipt(receipt, approve=True, acting_user=hr_user)
    file_name = receipt.file.name
    assert default_storage.exists(file_name) and NAME[1] not in file_name
    audit.record(
        "note", company=company, actor=hr_user, target="", text=f"spoke to {' '.join(NAME)}"
    )
    LogEntry.objects.create(
        user=hr_user,
        content_type=ContentType.objects.get_for_model(Employee),
        object_id=str(person.pk),
        object_repr=" ".join(NAME),
        action_flag=CHANGE,
        change_message=f"changed e-mail to {EMAIL}",
    )
    totals = _totals(company)
    assert totals and any(t[1] == "meal" for t in totals)
    texts = " ".join(_every_text_in_the_database()).lower()
    assert all(n in texts for n in (NAME[1].lower(), EMAIL.lower())), "the scan finds the data"

    with django_capture_on_commit_callbacks(execute=True):
        do_delete_employee(person, acting_user=hr_user)

    texts = " ".join(_every_text_in_the_database()).lower()
    found = [n for n in _needles() if n in texts]
    assert found == []
    assert not default_storage.exists(file_name)
    assert not Employee.objects.filter(pk=person.pk).exists()
    assert not Receipt.objects.filter(pk=receipt.pk).exists()
    assert not invitation.__class__.objects.filter(pk=invitation.pk).exists()
    assert _totals(company) == totals
    # The login is gone: no new login, and the open session no longer works.
    assert not Client().login(email=login_email, password="Sunny-Meadow-77")
    response = client.get(reverse("employee_area:home"))
    assert response.status_code == 302 and "login" in response["Location"]


def test_deleting_an_employee_who_is_also_hr_admin_keeps_their_admin_login(
    company: Company, hr_user: User
) -> None:
    person = build_employee(company, "active", today=TODAY, login=False, email=hr_user.email)
    person.user = hr_user
    person.save()
    do_delete_employee(person, acting_user=None)
    hr_user.refresh_from_db()
    assert hr_user.is_active and hr_user.has_usable_password()


@pytest.mark.parametrize("status", ["active", "leaving", "left"])
def test_deleted_employees_can_no_longer_log_in_whatever_their_status(
    company: Company, status: str
) -> None:
    person = build_employee(company, status, today=TODAY)
    assert person.user is not None
    email = person.user.email
    do_delete_employee(person, acting_user=None)
    assert not Client().login(email=email, password="Correct-Horse-42")
    assert not User.objects.filter(email=email).exists()


def test_receipt_files_stay_when_the_deletion_is_rolled_back(company: Company) -> None:
    person = build_employee(company, "active", today=TODAY)
    meal = EmployeeBenefit.objects.get(employee=person, kind=BenefitType.MEAL)
    receipt = do_submit_receipt(
        person,
        benefit=meal,
        month=CURRENT,
        amount=Decimal("5"),
        upload=SimpleUploadedFile("x.pdf", PDF),
        today=TODAY,
        acting_user=None,
    )
    # Without a commit (the test transaction) the on-commit file deletion never runs.
    do_delete_employee(person, acting_user=None)
    assert default_storage.exists(receipt.file.name)


def test_terminate_now_shows_benefits_as_ended_now_not_from_this_month_until_last(
    company: Company,
) -> None:
    from benefitsync.benefits.models import BenefitType, EmployeeBenefit
    from benefitsync.employees.services import company_today, do_terminate_now
    from benefitsync.lib.months import month_label
    from tests.employee_area.conftest import build_employee, client_for

    today = company_today(company)
    current = Month.of(today)
    employee = build_employee(company, "active", today=today)
    EmployeeBenefit.objects.create(
        company=company,
        employee=employee,
        kind=BenefitType.INTERNET,
        monthly_amount=Decimal("50.00"),
        start_month=current.first_day,
    )
    do_terminate_now(employee, today=today, acting_user=None)
    html = client_for(employee).get("/me/", headers={"accept-language": "en"}).content.decode()
    assert "Never started" in html  # the allowance that would have begun this month
    last = month_label(current.previous())
    assert f"Ended with {last}" in html  # the ones that ran until last month
    assert f"until {last}" not in html
