"""Fixtures for the employee area: companies, an HR admin per company, and employees built into
each status (Active, Leaving planned, Left) through the services, with `today` passed explicitly.

`build_employee` gives every person a voucher benefit and a meal allowance (since two months ago)
and an issued, unredeemed voucher of the previous month, so redeeming an earlier month's voucher
can be tried in every status.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.utils import translation
from huey.contrib.djhuey import HUEY

from benefitsync.accounts.models import User
from benefitsync.benefits.models import BenefitType, EmployeeBenefit
from benefitsync.benefits.vouchers import do_select_voucher, issue_due_vouchers
from benefitsync.companies.models import Company, Membership
from benefitsync.employees.models import Employee
from benefitsync.employees.services import do_complete_leaving, do_mark_leaving
from benefitsync.lib.months import Month

PASSWORD = "Correct-Horse-42"
TODAY = dt.date(2026, 11, 16)
PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


@pytest.fixture(autouse=True)
def _employee_area_settings(settings: Any, tmp_path: Path) -> Iterator[None]:
    """Fast hashing, media in a temp dir, mail in memory, jobs inline."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    immediate = HUEY.immediate
    HUEY.immediate = True
    # A request with Accept-Language leaves its language active in the thread; start in English.
    translation.activate("en")
    yield
    translation.deactivate()
    HUEY.immediate = immediate


@pytest.fixture
def company(db: None) -> Company:
    return Company.objects.create(name="Acme GmbH", slug="acme")


@pytest.fixture
def other_company(db: None) -> Company:
    return Company.objects.create(name="Globex AG", slug="globex")


def _hr(company: Company, email: str) -> User:
    user = User.objects.create_user(email=email, password=PASSWORD)
    Membership.objects.create(user=user, company=company)
    return user


@pytest.fixture
def hr_user(company: Company) -> User:
    return _hr(company, "hr@acme.test")


@pytest.fixture
def other_hr_user(other_company: Company) -> User:
    return _hr(other_company, "hr@globex.test")


@pytest.fixture
def hr_client(hr_user: User) -> Client:
    client = Client()
    client.force_login(hr_user)
    return client


@pytest.fixture
def other_hr_client(other_hr_user: User) -> Client:
    client = Client()
    client.force_login(other_hr_user)
    return client


_counter = iter(range(1, 10**6))


def build_employee(
    company: Company,
    status: str,
    *,
    today: dt.date,
    lwm: Month | None = None,
    first_name: str = "Erika",
    last_name: str | None = None,
    email: str | None = None,
    login: bool = True,
) -> Employee:
    """An employee in `status` as of `today`, made through the services.

    Leaving planned: last working month `lwm` (default: this month). Left: left at the end of
    the previous month.
    """
    n = next(_counter)
    last_name = last_name or f"Mustermann{n}"
    email = email or f"person{n}@acme.test"
    current = Month.of(today)
    previous = current.previous()
    day_before = previous.first_day + dt.timedelta(days=4)
    employee = Employee.objects.create(
        company=company, first_name=first_name, last_name=last_name, email=email
    )
    if login:
        employee.user = User.objects.create_user(email=email, password=PASSWORD)
        employee.save(update_fields=["user"])
    for kind, amount in ((BenefitType.VOUCHER, "50.00"), (BenefitType.MEAL, "100.00")):
        EmployeeBenefit.objects.create(
            company=company,
            employee=employee,
            kind=kind,
            monthly_amount=Decimal(amount),
            start_month=previous.previous().first_day,
        )
    do_select_voucher(employee, month=previous, provider="rewe", today=day_before, acting_user=None)
    issue_due_vouchers(company, today=day_before)
    if status == "leaving":
        month = lwm or current
        do_mark_leaving(
            employee, month.first_day + dt.timedelta(days=14), today=today, acting_user=None
        )
    elif status == "left":
        do_mark_leaving(employee, previous.last_day, today=day_before, acting_user=None)
        do_complete_leaving(company, today=today)
    employee.refresh_from_db()
    assert employee.status == status
    return employee


@pytest.fixture
def make_employee_in(company: Company) -> Callable[..., Employee]:
    def make(status: str, **kwargs: Any) -> Employee:
        kwargs.setdefault("today", TODAY)
        return build_employee(company, status, **kwargs)

    return make


def client_for(employee: Employee) -> Client:
    client = Client()
    assert employee.user is not None
    client.force_login(employee.user)
    return client
