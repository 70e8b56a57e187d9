"""Demo data for the embedded default: one company, an HR admin, a support user and about 50
employees with benefits in mixed statuses. Loaded once; running again reuses what exists."""

from __future__ import annotations

import datetime as dt
import json
import random
import secrets
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.utils.text import slugify
from faker import Faker

from benefitsync.accounts.models import User
from benefitsync.benefits.models import BenefitType, EmployeeBenefit
from benefitsync.companies.models import Company, Membership
from benefitsync.employees import services as employee_services
from benefitsync.employees.models import Employee
from benefitsync.lib.datadir import read_or_create
from benefitsync.lib.months import Month

DEMO_SLUG = "nordlicht"
HR_EMAIL = "hr@nordlicht.example"
SUPPORT_EMAIL = "support@benefitsync.example"

_AMOUNTS = {
    BenefitType.VOUCHER: Decimal("50.00"),
    BenefitType.MEAL: Decimal("108.45"),
    BenefitType.INTERNET: Decimal("50.00"),
    BenefitType.MOBILITY: Decimal("58.00"),
}


@dataclass(frozen=True)
class DemoLogins:
    company_slug: str
    hr_email: str
    hr_password: str
    support_email: str
    support_password: str
    created: bool


def _passwords() -> dict[str, str]:
    text = read_or_create(
        settings.DATA_DIR / "demo_passwords.json",
        lambda: json.dumps({"hr": secrets.token_urlsafe(9), "support": secrets.token_urlsafe(9)}),
    )
    return dict(json.loads(text))


@transaction.atomic
def load_demo(employees: int = 50, *, today: dt.date | None = None) -> DemoLogins:
    passwords = _passwords()
    company, created = Company.objects.get_or_create(
        slug=DEMO_SLUG, defaults={"name": "Nordlicht GmbH"}
    )
    hr = User.objects.filter(email=HR_EMAIL).first() or User.objects.create_user(
        HR_EMAIL, passwords["hr"], first_name="Hanna", last_name="Richter"
    )
    Membership.objects.get_or_create(user=hr, company=company)
    if not User.objects.filter(email=SUPPORT_EMAIL).exists():
        User.objects.create_user(
            SUPPORT_EMAIL, passwords["support"], is_staff=True, is_superuser=True
        )
    if created or not Employee.objects.filter(company=company).exists():
        _employees(company, employees, today or employee_services.company_today(company))
    return DemoLogins(
        DEMO_SLUG, HR_EMAIL, passwords["hr"], SUPPORT_EMAIL, passwords["support"], created
    )


def _employees(company: Company, count: int, today: dt.date) -> None:
    fake = Faker("de_DE")
    fake.seed_instance(7)
    rng = random.Random(7)
    this_month = Month.of(today)
    for index in range(count):
        first, last = fake.first_name(), fake.last_name()
        employee = employee_services.do_create_employee(
            company,
            acting_user=None,
            first_name=first,
            last_name=last,
            email=f"{slugify(first)}.{slugify(last)}.{index}@nordlicht.example",
            personnel_number=f"NL-{1000 + index}",
            employment_type="internal",
            hire_date=fake.date_between(start_date="-8y", end_date="-1m"),
            gender=rng.choice(["female", "male", "diverse"]),
        )
        start = this_month.previous().previous()
        for kind in rng.sample(list(BenefitType), k=rng.randint(1, 3)):
            EmployeeBenefit.objects.create(
                company=company,
                employee=employee,
                kind=kind,
                monthly_amount=_AMOUNTS[BenefitType(kind)],
                start_month=start.first_day,
            )
        if index % 10 == 3:  # leaving at the end of next month
            employee_services.do_mark_leaving(
                employee, this_month.next().last_day, today=today, acting_user=None
            )
        elif index % 10 == 7:  # left last month
            employee_services.do_mark_leaving(
                employee,
                this_month.previous().first_day,
                today=this_month.previous().first_day,
                acting_user=None,
            )
            employee_services.do_complete_leaving(company, today=today)
