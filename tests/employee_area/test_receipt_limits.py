"""Receipts have business limits: what is reimbursed never exceeds the benefit's monthly
amount, and the number of receipts per benefit and month is capped."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from benefitsync.benefits.models import BenefitType, EmployeeBenefit, MonthlyTotal, Receipt
from benefitsync.benefits.receipts import (
    do_approve_receipt,
    do_decide_receipt,
    do_submit_receipt,
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


def test_a_receipt_above_the_monthly_amount_is_refused_before_the_upload(
    company: Company,
) -> None:
    """The attack from the probe: eight receipts for €100,018 against a €108 meal allowance."""
    person, meal = _meal(company, "108.00")
    with pytest.raises(ActionRefused, match=r"Only 108\.00 € of your"):
        _submit(person, meal, "12502.25")
    assert not Receipt.objects.filter(benefit=meal).exists()


def test_receipts_add_up_to_the_monthly_amount_and_no_further(company: Company) -> None:
    person, meal = _meal(company, "100.00")
    first, second = _submit(person, meal, "60.00"), _submit(person, meal, "30.00")
    with pytest.raises(ActionRefused, match=r"Only 10\.00 €"):
        _submit(person, meal, "25.00")  # 60 + 30 are pending: 10 left to ask for
    third = _submit(person, meal, "10.00")
    for receipt in (first, second, third):
        do_decide_receipt(receipt, approve=True, acting_user=None)
    assert _meal_total(company) == Decimal("100.00")
    assert reimbursed(meal, MONTH) == Decimal("100.00")


def test_an_approval_never_grants_more_than_is_left_of_the_month(company: Company) -> None:
    person, meal = _meal(company, "100.00")
    first, second = _submit(person, meal, "60.00"), _submit(person, meal, "40.00")
    do_approve_receipt(first, acting_user=None)
    meal.monthly_amount = Decimal("80.00")  # HR lowered the allowance meanwhile
    meal.save(update_fields=["monthly_amount"])
    with pytest.raises(ActionRefused, match=r"At most 20\.00 €"):
        do_approve_receipt(second, amount=Decimal("40.00"), acting_user=None)
    do_approve_receipt(second, acting_user=None)  # the default is capped at what is left
    assert reimbursed(meal, MONTH) == Decimal("80.00")


def test_no_receipt_is_taken_once_the_month_is_fully_reimbursed(company: Company) -> None:
    person, meal = _meal(company, "50.00")
    do_decide_receipt(_submit(person, meal, "50.00"), approve=True, acting_user=None)
    with pytest.raises(ActionRefused, match="Nothing is left"):
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
