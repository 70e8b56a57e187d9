"""Demo data for the embedded default: one company, an HR admin, a support user and about 50
employees with benefits in mixed statuses; payroll settings, vouchers chosen and receipts decided
for last month (closed) and this month, so the payroll page shows real figures. Loaded once;
running again reuses what exists."""

from __future__ import annotations

import datetime as dt
import json
import random
import secrets
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.utils.text import slugify
from faker import Faker

from benefitsync.accounts.models import User
from benefitsync.benefits import receipts, vouchers
from benefitsync.benefits import services as benefit_services
from benefitsync.benefits.models import BenefitType, EmployeeBenefit, Receipt
from benefitsync.companies.models import Company, Membership
from benefitsync.employees import services as employee_services
from benefitsync.employees.models import Employee
from benefitsync.lib.datadir import read_or_create
from benefitsync.lib.months import Month
from benefitsync.payroll import services as payroll_services
from benefitsync.payroll.models import PayrollSettings

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
    today = today or employee_services.company_today(company)
    if created or not Employee.objects.filter(company=company).exists():
        _employees(company, employees, today)
    if not PayrollSettings.objects.filter(company=company).exists():
        _payroll(company, today)
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
            personnel_number=f"{1000 + index}",  # numeric, as DATEV LODAS requires
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


# Wage types as a payroll office might number its own LODAS wage types (la_eigene); the demo's
# are made up, a real company takes them from its payroll office.
DEMO_WAGE_TYPES = {
    "voucher:tax_free": "4100",
    "voucher:taxable": "4101",
    "meal:tax_free": "4200",
    "meal:taxable": "4201",
    "internet:flat_25": "4300",
    "internet:taxable": "4301",
    "mobility:tax_free": "4400",
}
_PDF = b"%PDF-1.4\n% benefitsync demo receipt\n"


def _payroll(company: Company, today: dt.date) -> None:
    """Payroll settings; vouchers chosen and receipts decided for last month and this month;
    last month closed, then one receipt of it approved late (a correction line this month)."""
    payroll_services.do_update_settings(
        company,
        consultant_number="1234567",
        client_number="12345",
        cutoff_day=20,
        wage_types=DEMO_WAGE_TYPES,
        acting_user=None,
    )
    rng = random.Random(16)
    this_month = Month.of(today)
    last_month = this_month.previous()
    # One voucher over the 50 € Freigrenze, so the page shows the flag.
    over = EmployeeBenefit.objects.filter(
        company=company, kind=BenefitType.VOUCHER, employee__status="active"
    ).first()
    if over is not None:
        benefit_services.do_change_benefit(
            over,
            monthly_amount=Decimal("60.00"),
            start_month=Month.of(over.start_month),
            end_month=None,
            acting_user=None,
            today=today,
        )
    late: Receipt | None = None
    for month in (last_month, this_month):
        # Each month as it was lived: choices and receipts on a day of that month.
        day = min(today, month.first_day + dt.timedelta(days=9))
        for employee in Employee.objects.filter(company=company).order_by("id"):
            keep = month == last_month and late is None
            late = _employee_month(employee, month, day, rng, keep_one=keep) or late
        vouchers.issue_due_vouchers(company, today=day)
        if month == last_month:
            try:
                payroll_services.do_close_month(company, month, today=today, acting_user=None)
            except payroll_services.PayrollRefused:
                return  # a year without statutory values yet: the page says so
    if late is not None:
        receipts.do_decide_receipt(late, approve=True, acting_user=None)


def _employee_month(
    employee: Employee, month: Month, day: dt.date, rng: random.Random, *, keep_one: bool
) -> Receipt | None:
    """Choose the voucher and submit and decide receipts of one employee for one month. With
    `keep_one`, the first internet receipt is left undecided and returned (it is approved after
    the month is closed: a correction line in the next month)."""
    kept = None
    try:
        if vouchers.voucher_benefit_in(employee, month) is not None:
            provider = rng.choice(list(vouchers.VOUCHER_PROVIDERS))
            vouchers.do_select_voucher(
                employee, month=month, provider=provider, today=day, acting_user=None
            )
        for benefit in receipts.reimbursement_benefits_in(employee, month):
            for amount in _receipt_amounts(benefit.kind, rng):
                receipt = receipts.do_submit_receipt(
                    employee,
                    benefit=benefit,
                    month=month,
                    amount=amount,
                    upload=SimpleUploadedFile("receipt.pdf", _PDF),
                    today=day,
                    acting_user=None,
                )
                if keep_one and kept is None and benefit.kind == BenefitType.INTERNET:
                    kept = receipt
                    continue
                receipts.do_decide_receipt(receipt, approve=rng.random() > 0.1, acting_user=None)
    except employee_services.ActionRefused:
        pass  # Left, or not allowed this month: the rules decide, as they would for a person
    return kept


def _receipt_amounts(kind: str, rng: random.Random) -> list[Decimal]:
    if kind == BenefitType.MEAL:  # lunches of 5.90 to 9.40 €: some above 7.67 € a meal
        return [Decimal(rng.randrange(590, 940, 10)) / 100 for _ in range(rng.randint(8, 16))]
    if kind == BenefitType.INTERNET:  # some bills above the 50 € benefit
        return [Decimal(rng.choice(["29.99", "39.99", "44.95", "59.99"]))]
    return [Decimal("58.00")]  # the job ticket
