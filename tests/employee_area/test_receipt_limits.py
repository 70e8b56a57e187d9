"""Receipts have business limits: what is reimbursed never exceeds the benefit's monthly
amount, and the number of receipts per benefit and month is capped."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from benefitsync.benefits.models import BenefitType, EmployeeBenefit, MonthlyTotal, Receipt
from benefitsync.benefits.receipts import (
    do_decide_receipt,
    do_submit_receipt,
    reimbursable_part,
    reimbursed,
)
from benefitsync.companies.models import Company
from benefitsync.employees.models import Employee, EmployeeStatus
from benefitsync.employees.services import ActionRefused
from benefitsync.lib.months import Month

from .conftest import PDF, TODAY, build_employee

MONTH = Month.of(TODAY)


def _submit(person: Employee, benefit: EmployeeBenefit, amount: str) -> Receipt:
    return do_submit_receipt(
        person,
        benefit=benefit,
        month=MONTH,
        amount=Decimal(amount),
        upload=SimpleUploadedFile("r.pdf", PDF),
        today=TODAY,
        acting_user=None,
    )


def _meal(company: Company, monthly: str) -> tuple[Employee, EmployeeBenefit]:
    person = build_employee(company, EmployeeStatus.ACTIVE, today=TODAY)
    meal = EmployeeBenefit.objects.get(employee=person, kind=BenefitType.MEAL)
    meal.monthly_amount = Decimal(monthly)
    meal.save(update_fields=["monthly_amount"])
    return person, meal


def _meal_total(company: Company) -> Decimal:
    total = MonthlyTotal.objects.filter(
        company=company, month=MONTH.first_day, kind=BenefitType.MEAL
    ).first()
    return Decimal("0") if total is None else total.amount


def test_approving_eight_huge_receipts_reimburses_only_the_monthly_amount(
    company: Company, settings: Any
) -> None:
    """The attack from the probe: eight receipts for €100,018 against a €108 meal allowance."""
    person, meal = _meal(company, "108.00")
    receipts = [_submit(person, meal, "12502.25") for _ in range(7)]
    receipts.append(_submit(person, meal, "12502.25"))  # 8 × 12,502.25 = 100,018
    # All submitted before any approval: the cap on what an approval reimburses must hold.
    for receipt in receipts:
        do_decide_receipt(receipt, approve=True, acting_user=None)
    assert _meal_total(company) == Decimal("108.00")
    assert reimbursed(meal, MONTH) == Decimal("108.00")


def test_receipts_add_up_to_the_monthly_amount_and_no_further(company: Company) -> None:
    person, meal = _meal(company, "100.00")
    first, second, third = (_submit(person, meal, a) for a in ("60.00", "30.00", "25.00"))
    for receipt in (first, second, third):
        do_decide_receipt(receipt, approve=True, acting_user=None)
    assert _meal_total(company) == Decimal("100.00")  # 60 + 30 + 10 of the 25


def test_no_receipt_is_taken_once_the_month_is_fully_reimbursed(company: Company) -> None:
    person, meal = _meal(company, "50.00")
    do_decide_receipt(_submit(person, meal, "50.00"), approve=True, acting_user=None)
    with pytest.raises(ActionRefused, match="already fully reimbursed"):
        _submit(person, meal, "5.00")


def test_the_number_of_receipts_per_benefit_and_month_is_capped(
    company: Company, settings: Any
) -> None:
    settings.RECEIPT_MAX_PER_MONTH = 3
    person, meal = _meal(company, "100.00")
    receipts = [_submit(person, meal, "1.00") for _ in range(3)]
    with pytest.raises(ActionRefused, match="At most 3 receipts"):
        _submit(person, meal, "1.00")
    # A rejected receipt frees its place: the employee may send a better one.
    do_decide_receipt(receipts[0], approve=False, acting_user=None)
    _submit(person, meal, "1.00")
    assert Receipt.objects.filter(benefit=meal).count() == 4


@pytest.mark.parametrize(
    ("monthly", "before", "amount", "part"),
    [
        ("108", "0", "12502.25", "108"),
        ("100", "60", "30", "30"),
        ("100", "90", "25", "10"),
        ("100", "100", "5", "0"),
        ("100", "150", "5", "0"),
    ],
)
def test_the_reimbursable_part_of_a_receipt(
    monthly: str, before: str, amount: str, part: str
) -> None:
    assert reimbursable_part(Decimal(monthly), Decimal(before), Decimal(amount)) == Decimal(part)
