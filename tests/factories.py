"""Small factories for tests: plain functions with sensible defaults, no library."""

from __future__ import annotations

import itertools
from decimal import Decimal
from typing import Any

from benefitsync.accounts.models import User
from benefitsync.benefits.models import BenefitType, EmployeeBenefit
from benefitsync.companies.models import Company, Membership
from benefitsync.employees.models import Employee
from benefitsync.lib.months import Month

PASSWORD = "correct horse battery staple"
_numbers = itertools.count(1)


def make_company(name: str = "", **fields: Any) -> Company:
    n = next(_numbers)
    name = name or f"Company {n}"
    fields.setdefault("slug", f"company-{n}")
    return Company.objects.create(name=name, **fields)


def make_user(email: str = "", **fields: Any) -> User:
    email = email or f"user{next(_numbers)}@example.com"
    return User.objects.create_user(email, PASSWORD, **fields)


def make_hr_admin(*companies: Company, email: str = "") -> User:
    user = make_user(email)
    for company in companies:
        Membership.objects.create(user=user, company=company)
    return user


def employee_fields(company: Company, **fields: Any) -> dict[str, Any]:
    """Field values of a new employee (for `make_employee` and for `bulk_create`)."""
    n = next(_numbers)
    values: dict[str, Any] = {
        "company": company,
        "first_name": f"First{n}",
        "last_name": f"Last{n}",
        "email": f"employee{n}@{company.slug}.example",
        "personnel_number": f"P-{n:05d}",
    }
    values.update(fields)
    return values


def make_employee(company: Company, **fields: Any) -> Employee:
    """An employee of `company`; any model field can be given. Written directly, like fixture data
    loaded from elsewhere: it bypasses the services (use them when the behaviour is under test)."""
    return Employee.objects.create(**employee_fields(company, **fields))


def make_benefit(employee: Employee, **fields: Any) -> EmployeeBenefit:
    values: dict[str, Any] = {
        "company_id": employee.company_id,
        "employee": employee,
        "kind": BenefitType.MEAL,
        "monthly_amount": Decimal("50.00"),
        "start_month": Month(2024, 1).first_day,
    }
    values.update(fields)
    return EmployeeBenefit.objects.create(**values)
