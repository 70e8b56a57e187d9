"""The status-by-action matrix of SPEC §4 and §6, through the service functions (today fixed)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from benefitsync.benefits import services as benefit_services
from benefitsync.benefits.models import BenefitType, EmployeeBenefit, VoucherSelection
from benefitsync.benefits.receipts import do_submit_receipt
from benefitsync.benefits.vouchers import do_redeem_voucher, do_select_voucher, issue_due_vouchers
from benefitsync.employees.models import Employee, EmployeeStatus
from benefitsync.employees.services import (
    ActionRefused,
    do_delete_employee,
    do_terminate_now,
)
from benefitsync.lib.months import Month

from .conftest import PDF, TODAY

CURRENT = Month.of(TODAY)
NEXT = CURRENT.next()
PREVIOUS = CURRENT.previous()

Make = Callable[..., Employee]

# (status, last working month for Leaving planned)
ACTIVE = ("active", None)
LEAVING_THIS_MONTH = ("leaving", CURRENT)
LEAVING_NEXT_MONTH = ("leaving", NEXT)
LEFT = ("left", None)


def _make(make: Make, case: tuple[str, Month | None]) -> Employee:
    status, lwm = case
    return make(status, lwm=lwm)


def _earlier_voucher(employee: Employee) -> VoucherSelection:
    return VoucherSelection.objects.get(employee=employee, month=PREVIOUS.first_day)


@pytest.mark.parametrize(
    ("case", "allowed"),
    [(ACTIVE, True), (LEAVING_THIS_MONTH, False), (LEFT, False)],
    ids=["active", "leaving", "left"],
)
def test_only_active_employees_can_get_a_new_benefit_configured(
    make_employee_in: Make, case: tuple[str, Month | None], allowed: bool
) -> None:
    employee = _make(make_employee_in, case)
    add = lambda: benefit_services.do_add_benefit(  # noqa: E731
        employee,
        kind=BenefitType.INTERNET,
        monthly_amount=Decimal("20"),
        start_month=CURRENT,
        end_month=None,
        acting_user=None,
        today=TODAY,
    )
    if allowed:
        assert add().kind == BenefitType.INTERNET
    else:
        with pytest.raises(ActionRefused, match=r"benefits|left"):
            add()


@pytest.mark.parametrize(
    ("case", "month", "allowed", "reason"),
    [
        (ACTIVE, CURRENT, True, ""),
        (ACTIVE, NEXT, True, ""),
        (LEAVING_THIS_MONTH, CURRENT, True, ""),
        (LEAVING_THIS_MONTH, NEXT, False, "only months up to"),
        (LEAVING_NEXT_MONTH, NEXT, True, ""),
        (LEAVING_NEXT_MONTH, NEXT.next(), False, "only months up to"),
        (LEFT, CURRENT, False, "has left"),
        (LEFT, NEXT, False, "has left"),
    ],
    ids=[
        "active-this-month",
        "active-next-month",
        "leaving-this-month",
        "leaving-after-last-working-month",
        "leaving-next-month-is-last",
        "leaving-next-but-one",
        "left-this-month",
        "left-next-month",
    ],
)
def test_voucher_selection_follows_the_status_rules(
    make_employee_in: Make,
    case: tuple[str, Month | None],
    month: Month,
    allowed: bool,
    reason: str,
) -> None:
    employee = _make(make_employee_in, case)
    if allowed:
        selection = do_select_voucher(
            employee, month=month, provider="amazon", today=TODAY, acting_user=None
        )
        assert selection.month == month.first_day
        assert selection.amount == Decimal("50.00")
    else:
        with pytest.raises(ActionRefused, match=reason):
            do_select_voucher(
                employee, month=month, provider="amazon", today=TODAY, acting_user=None
            )
        assert not VoucherSelection.objects.filter(employee=employee, month=month.first_day)


@pytest.mark.parametrize(
    "case", [ACTIVE, LEAVING_THIS_MONTH, LEFT], ids=["active", "leaving", "left"]
)
def test_vouchers_of_earlier_months_can_be_redeemed_in_every_status(
    make_employee_in: Make, case: tuple[str, Month | None]
) -> None:
    employee = _make(make_employee_in, case)
    redeemed = do_redeem_voucher(_earlier_voucher(employee), today=TODAY, acting_user=None)
    assert redeemed.redeemed_at is not None


@pytest.mark.parametrize(
    ("case", "allowed"),
    [(ACTIVE, True), (LEAVING_THIS_MONTH, True), (LEFT, False)],
    ids=["active", "leaving", "left"],
)
def test_vouchers_of_the_current_month_can_be_redeemed_except_after_leaving(
    make_employee_in: Make, case: tuple[str, Month | None], allowed: bool
) -> None:
    employee = _make(make_employee_in, case)
    benefit = EmployeeBenefit.objects.get(employee=employee, kind=BenefitType.VOUCHER)
    selection = VoucherSelection.objects.create(
        company=employee.company,
        employee=employee,
        benefit=benefit,
        month=CURRENT.first_day,
        provider="ikea",
        amount=Decimal("50"),
        code="IKEA-1",
        issued_at=dt.datetime(2026, 11, 1, tzinfo=dt.UTC),
    )
    if allowed:
        assert do_redeem_voucher(selection, today=TODAY, acting_user=None).redeemed_at
    else:
        with pytest.raises(ActionRefused, match="earlier months"):
            do_redeem_voucher(selection, today=TODAY, acting_user=None)


def test_a_voucher_is_redeemable_only_once_and_only_after_its_code_is_issued(
    make_employee_in: Make,
) -> None:
    employee = make_employee_in("active")
    selection = do_select_voucher(
        employee, month=CURRENT, provider="zalando", today=TODAY, acting_user=None
    )
    with pytest.raises(ActionRefused, match="not been issued"):
        do_redeem_voucher(selection, today=TODAY, acting_user=None)
    issue_due_vouchers(employee.company, today=TODAY)
    do_redeem_voucher(selection, today=TODAY, acting_user=None)
    with pytest.raises(ActionRefused, match="already redeemed"):
        do_redeem_voucher(selection, today=TODAY, acting_user=None)


def test_an_issued_voucher_cannot_be_changed_but_an_unissued_one_can(
    make_employee_in: Make,
) -> None:
    employee = make_employee_in("active")
    do_select_voucher(employee, month=NEXT, provider="zalando", today=TODAY, acting_user=None)
    changed = do_select_voucher(
        employee, month=NEXT, provider="ikea", today=TODAY, acting_user=None
    )
    assert changed.provider == "ikea"
    assert VoucherSelection.objects.filter(employee=employee, month=NEXT.first_day).count() == 1
    do_select_voucher(employee, month=CURRENT, provider="rewe", today=TODAY, acting_user=None)
    issue_due_vouchers(employee.company, today=TODAY)
    with pytest.raises(ActionRefused, match="already issued"):
        do_select_voucher(employee, month=CURRENT, provider="ikea", today=TODAY, acting_user=None)


@pytest.mark.parametrize(
    ("month", "provider", "reason"),
    [
        (PREVIOUS, "amazon", "past months"),
        (NEXT.next(), "amazon", "this month and the next"),
        (CURRENT, "bitcoin", "vouchers offered"),
    ],
    ids=["past-month", "too-far-ahead", "unknown-provider"],
)
def test_voucher_selection_refuses_past_far_future_and_unknown_providers(
    make_employee_in: Make, month: Month, provider: str, reason: str
) -> None:
    employee = make_employee_in("active")
    VoucherSelection.objects.filter(employee=employee).delete()
    with pytest.raises(ActionRefused, match=reason):
        do_select_voucher(employee, month=month, provider=provider, today=TODAY, acting_user=None)


def _receipt(employee: Employee, month: Month = CURRENT, content: bytes = PDF) -> object:
    benefit = EmployeeBenefit.objects.get(employee=employee, kind=BenefitType.MEAL)
    return do_submit_receipt(
        employee,
        benefit=benefit,
        month=month,
        amount=Decimal("12.50"),
        upload=SimpleUploadedFile("lunch.pdf", content, content_type="application/pdf"),
        today=TODAY,
        acting_user=None,
    )


@pytest.mark.parametrize(
    ("case", "allowed"),
    [(ACTIVE, True), (LEAVING_THIS_MONTH, True), (LEFT, False)],
    ids=["active", "leaving", "left"],
)
def test_receipts_can_be_submitted_except_after_leaving(
    make_employee_in: Make, case: tuple[str, Month | None], allowed: bool
) -> None:
    employee = _make(make_employee_in, case)
    if allowed:
        assert _receipt(employee)
    else:
        with pytest.raises(ActionRefused, match="has left"):
            _receipt(employee)
        assert not employee.receipts.exists()


def test_receipts_for_a_future_month_are_refused(make_employee_in: Make) -> None:
    employee = make_employee_in("active")
    with pytest.raises(ActionRefused, match="this month or earlier"):
        _receipt(employee, month=NEXT)


@pytest.mark.parametrize(
    "content",
    [b"GIF89a not allowed", b"MZ\x90\x00 an exe renamed to .pdf", b""],
    ids=["gif", "exe-as-pdf", "empty"],
)
def test_receipt_files_are_checked_by_content_not_by_name(
    make_employee_in: Make, content: bytes
) -> None:
    employee = make_employee_in("active")
    with pytest.raises(ActionRefused, match="PDF, JPEG or PNG"):
        _receipt(employee, content=content)


def test_receipt_files_over_the_size_limit_are_refused(
    make_employee_in: Make, settings: object
) -> None:
    settings.RECEIPT_MAX_BYTES = 1024  # type: ignore[attr-defined]
    employee = make_employee_in("active")
    with pytest.raises(ActionRefused, match="too large"):
        _receipt(employee, content=PDF + b"0" * 2048)


@pytest.mark.parametrize("case", [ACTIVE, LEAVING_THIS_MONTH], ids=["active", "leaving"])
def test_immediate_termination_without_a_voucher_this_month_makes_the_employee_left_now(
    make_employee_in: Make, case: tuple[str, Month | None]
) -> None:
    employee = _make(make_employee_in, case)
    do_terminate_now(employee, today=TODAY, acting_user=None)
    employee.refresh_from_db()
    assert employee.status == EmployeeStatus.LEFT
    assert all(not b.is_active_in(CURRENT) for b in employee.benefits.all())


@pytest.mark.parametrize("case", [ACTIVE, LEAVING_THIS_MONTH], ids=["active", "leaving"])
def test_immediate_termination_is_refused_while_a_voucher_is_selected_this_month(
    make_employee_in: Make, case: tuple[str, Month | None]
) -> None:
    employee = _make(make_employee_in, case)
    do_select_voucher(employee, month=CURRENT, provider="amazon", today=TODAY, acting_user=None)
    with pytest.raises(ActionRefused, match="voucher"):
        do_terminate_now(employee, today=TODAY, acting_user=None)
    employee.refresh_from_db()
    assert employee.status == case[0]


def test_immediate_termination_of_someone_who_left_is_refused(make_employee_in: Make) -> None:
    employee = make_employee_in("left")
    with pytest.raises(ActionRefused, match="already left"):
        do_terminate_now(employee, today=TODAY, acting_user=None)


@pytest.mark.parametrize(
    "case", [ACTIVE, LEAVING_THIS_MONTH, LEFT], ids=["active", "leaving", "left"]
)
def test_an_employee_can_be_deleted_in_every_status(
    make_employee_in: Make, case: tuple[str, Month | None]
) -> None:
    employee = _make(make_employee_in, case)
    do_delete_employee(employee, acting_user=None)
    assert not Employee.objects.filter(pk=employee.pk).exists()
