"""The payroll test company: one employee per rule of issue 16, payroll month January 2026.

Expected lines, worked out by hand (2026: meal 4.57 + 3.10 = 7.67 € tax-free per meal, 15 meals;
vouchers ≤ 50 € tax-free, one cent more and all of it taxable; internet 50 € flat-taxed 25 %):

- 1001 Anna Alt: voucher 44.00 → 44.00 tax-free (4100).
- 1002 Bernd Berg: voucher 60.00, over the Freigrenze → 60.00 taxable (4101), all of it.
- 1003 Clara Cord: meal benefit 120; receipts 5.00, 7.67, 9.00, 12.50 →
  tax-free 5.00 + 7.67 + 7.67 + 7.67 = 28.01 (4200);
  taxable (9.00 - 7.67) + (12.50 - 7.67) = 1.33 + 4.83 = 6.16 (4201).
- 1004 Dana Dorn: internet benefit 70; approved 40.00 + 25.00 = 65.00 (one rejected 30.00 and
  one undecided 10.00 do not count) → 50.00 flat-taxed 25 % (4300), 15.00 taxable (4301).
- 1005 Emil Eck: job ticket 58.00 → 58.00 tax-free (4400), certified on the wage tax statement.
- 1006 Frida Fern: left, last working month 2025-12; a voucher chosen for 2026-01 and an
  internet receipt of 2026-01 approved → nothing.
- Gustav Gans: no personnel number; voucher 30.00 → 30.00 tax-free (4100) in the CSV with an
  empty personnel number, listed as an error, and not in the LODAS file.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

import pytest
from django.core.files.base import ContentFile

from benefitsync.benefits.models import (
    BenefitType,
    EmployeeBenefit,
    EndReason,
    Receipt,
    ReceiptStatus,
    VoucherSelection,
)
from benefitsync.companies.models import Company
from benefitsync.employees.models import Employee, EmployeeStatus
from benefitsync.lib.months import Month
from benefitsync.payroll import services
from tests.factories import make_benefit, make_employee

JAN = Month(2026, 1)
DEC = Month(2025, 12)
WAGE_TYPES = {
    "voucher:tax_free": "4100",
    "voucher:taxable": "4101",
    "meal:tax_free": "4200",
    "meal:taxable": "4201",
    "internet:flat_25": "4300",
    "internet:taxable": "4301",
    "mobility:tax_free": "4400",
}


@dataclass
class Scenario:
    company: Company
    people: dict[str, Employee]


def add_voucher(employee: Employee, month: Month, amount: str) -> VoucherSelection:
    benefit = EmployeeBenefit.objects.filter(employee=employee, kind=BenefitType.VOUCHER).first()
    assert benefit is not None
    return VoucherSelection.objects.create(
        company_id=employee.company_id,
        employee=employee,
        benefit=benefit,
        month=month.first_day,
        provider="amazon",
        amount=Decimal(amount),
    )


def add_receipt(
    employee: Employee,
    kind: str,
    amount: str,
    month: Month = JAN,
    status: str = ReceiptStatus.APPROVED,
) -> Receipt:
    benefit = EmployeeBenefit.objects.filter(employee=employee, kind=kind).first()
    assert benefit is not None
    return Receipt.objects.create(
        company_id=employee.company_id,
        employee=employee,
        benefit=benefit,
        month=month.first_day,
        amount=Decimal(amount),
        approved_amount=Decimal(amount) if status == ReceiptStatus.APPROVED else None,
        status=status,
        file=ContentFile(b"%PDF-1.4 test", name="receipt.pdf"),
    )


def build_scenario(company: Company) -> Scenario:
    start = Month(2025, 1).first_day

    def person(first: str, last: str, number: str, **fields: object) -> Employee:
        return make_employee(
            company, first_name=first, last_name=last, personnel_number=number, **fields
        )

    anna = person("Anna", "Alt", "1001")
    make_benefit(anna, kind=BenefitType.VOUCHER, monthly_amount=Decimal("44"), start_month=start)
    add_voucher(anna, JAN, "44.00")

    bernd = person("Bernd", "Berg", "1002")
    make_benefit(bernd, kind=BenefitType.VOUCHER, monthly_amount=Decimal("60"), start_month=start)
    add_voucher(bernd, JAN, "60.00")

    clara = person("Clara", "Cord", "1003")
    make_benefit(clara, kind=BenefitType.MEAL, monthly_amount=Decimal("120"), start_month=start)
    for amount in ("5.00", "7.67", "9.00", "12.50"):
        add_receipt(clara, BenefitType.MEAL, amount)

    dana = person("Dana", "Dorn", "1004")
    make_benefit(dana, kind=BenefitType.INTERNET, monthly_amount=Decimal("70"), start_month=start)
    add_receipt(dana, BenefitType.INTERNET, "40.00")
    add_receipt(dana, BenefitType.INTERNET, "30.00", status=ReceiptStatus.REJECTED)
    add_receipt(dana, BenefitType.INTERNET, "25.00")
    add_receipt(dana, BenefitType.INTERNET, "10.00", status=ReceiptStatus.SUBMITTED)

    emil = person("Emil", "Eck", "1005")
    make_benefit(emil, kind=BenefitType.MOBILITY, monthly_amount=Decimal("58"), start_month=start)
    add_receipt(emil, BenefitType.MOBILITY, "58.00")

    frida = person(
        "Frida",
        "Fern",
        "1006",
        status=EmployeeStatus.LEFT,
        leaving_date=dt.date(2025, 12, 31),
        last_working_month=DEC.first_day,
    )
    for kind, amount in ((BenefitType.VOUCHER, "40"), (BenefitType.INTERNET, "50")):
        make_benefit(
            frida,
            kind=kind,
            monthly_amount=Decimal(amount),
            start_month=start,
            end_month=DEC.first_day,
            end_reason=EndReason.LEAVING,
        )
    add_voucher(frida, JAN, "40.00")
    add_receipt(frida, BenefitType.INTERNET, "30.00")

    gustav = person("Gustav", "Gans", "")
    make_benefit(gustav, kind=BenefitType.VOUCHER, monthly_amount=Decimal("30"), start_month=start)
    add_voucher(gustav, JAN, "30.00")

    services.do_update_settings(
        company,
        consultant_number="1234567",
        client_number="12345",
        cutoff_day=20,
        wage_types=WAGE_TYPES,
        acting_user=None,
    )
    people = {"anna": anna, "bernd": bernd, "clara": clara, "dana": dana, "emil": emil}
    people |= {"frida": frida, "gustav": gustav}
    return Scenario(company, people)


@pytest.fixture
def scenario(company_a: Company) -> Scenario:
    return build_scenario(company_a)
