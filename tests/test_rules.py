"""Table tests of the pure leaving and permission rules (SPEC §4, §6): no database, no clock."""

from __future__ import annotations

import datetime as dt

import pytest

from benefitsync.employees import rules
from benefitsync.employees.rules import ACTIVE, LEAVING, LEFT, Action
from benefitsync.lib.months import Month

TODAY = dt.date(2025, 6, 15)  # current month: 2025-06
D = dt.date
M = Month


@pytest.mark.parametrize(
    ("leaving_date", "today", "expected", "why"),
    [
        (D(2025, 9, 30), TODAY, M(2025, 9), "future month: the month of the leaving date"),
        (D(2025, 9, 1), TODAY, M(2025, 9), "first day of a future month counts for that month"),
        (D(2025, 6, 30), TODAY, M(2025, 6), "current month: this month"),
        (D(2025, 6, 1), TODAY, M(2025, 6), "earlier day of the current month: this month"),
        (D(2025, 5, 31), TODAY, M(2025, 6), "past month (entered late): never retroactive"),
        (D(2023, 1, 15), TODAY, M(2025, 6), "long past: still the current month"),
        (D(2026, 1, 31), D(2025, 12, 31), M(2026, 1), "across the year boundary, future"),
        (D(2025, 12, 31), D(2026, 1, 1), M(2026, 1), "across the year boundary, past"),
        (D(2024, 2, 29), D(2024, 2, 1), M(2024, 2), "leap day"),
    ],
)
def test_last_working_month_is_the_leaving_month_but_never_a_past_one(
    leaving_date: dt.date, today: dt.date, expected: Month, why: str
) -> None:
    assert rules.last_working_month(leaving_date, today) == expected, why


@pytest.mark.parametrize(
    ("new_leaving_date", "stored", "expected", "why"),
    [
        (D(2025, 12, 31), M(2025, 9), M(2025, 12), "moved later"),
        (D(2025, 7, 31), M(2025, 9), M(2025, 7), "moved earlier, still in the future"),
        (D(2025, 6, 10), M(2025, 9), M(2025, 6), "moved into the current month"),
        (D(2025, 3, 31), M(2025, 9), M(2025, 6), "moved into a past month: this month instead"),
        (D(2025, 9, 30), None, M(2025, 9), "no month stored before"),
        (D(2025, 9, 30), M(2025, 9), M(2025, 9), "unchanged"),
    ],
)
def test_changed_leaving_date_recomputes_the_month_never_into_the_past(
    new_leaving_date: dt.date, stored: Month | None, expected: Month, why: str
) -> None:
    assert rules.recomputed_last_working_month(new_leaving_date, stored, TODAY) == expected, why


@pytest.mark.parametrize(
    ("last_month", "today", "left"),
    [
        (M(2025, 6), D(2025, 6, 1), False),
        (M(2025, 6), D(2025, 6, 30), False),
        (M(2025, 6), D(2025, 7, 1), True),
        (M(2025, 6), D(2026, 2, 1), True),
        (M(2025, 12), D(2025, 12, 31), False),
        (M(2025, 12), D(2026, 1, 1), True),
        (M(2025, 9), D(2025, 6, 15), False),
    ],
)
def test_leaving_planned_becomes_left_on_the_first_day_after_the_last_working_month(
    last_month: Month, today: dt.date, left: bool
) -> None:
    assert rules.has_left(last_month, today) is left


# (action, status, month, last working month, voucher this month) → allowed?
CHECKS: list[tuple[Action, str, Month | None, Month | None, bool, bool]] = [
    # Active: everything.
    (Action.CONFIGURE_BENEFIT, ACTIVE, None, None, False, True),
    (Action.SELECT_VOUCHER, ACTIVE, None, None, False, True),
    (Action.SELECT_VOUCHER, ACTIVE, M(2025, 12), None, False, True),
    (Action.REDEEM_VOUCHER, ACTIVE, M(2025, 6), None, False, True),
    (Action.SUBMIT_RECEIPT, ACTIVE, M(2025, 6), None, False, True),
    (Action.TERMINATE_NOW, ACTIVE, None, None, False, True),
    (Action.DELETE, ACTIVE, None, None, False, True),
    # Leaving planned: no new benefits; vouchers and receipts up to the last working month.
    (Action.CONFIGURE_BENEFIT, LEAVING, None, M(2025, 9), False, False),
    (Action.SELECT_VOUCHER, LEAVING, M(2025, 6), M(2025, 9), False, True),
    (Action.SELECT_VOUCHER, LEAVING, M(2025, 9), M(2025, 9), False, True),
    (Action.SELECT_VOUCHER, LEAVING, M(2025, 10), M(2025, 9), False, False),
    (Action.SUBMIT_RECEIPT, LEAVING, M(2025, 9), M(2025, 9), False, True),
    (Action.SUBMIT_RECEIPT, LEAVING, M(2025, 10), M(2025, 9), False, False),
    (Action.SUBMIT_RECEIPT, LEAVING, None, M(2025, 6), False, True),
    (Action.REDEEM_VOUCHER, LEAVING, M(2025, 6), M(2025, 6), False, True),
    (Action.REDEEM_VOUCHER, LEAVING, M(2025, 5), M(2025, 6), False, True),
    (Action.TERMINATE_NOW, LEAVING, None, M(2025, 9), False, True),
    (Action.DELETE, LEAVING, None, M(2025, 9), False, True),
    # Left: only redeem vouchers of earlier months; the HR admin may delete.
    (Action.CONFIGURE_BENEFIT, LEFT, None, M(2025, 5), False, False),
    (Action.SELECT_VOUCHER, LEFT, M(2025, 6), M(2025, 5), False, False),
    (Action.SELECT_VOUCHER, LEFT, M(2025, 5), M(2025, 5), False, False),
    (Action.SUBMIT_RECEIPT, LEFT, M(2025, 5), M(2025, 5), False, False),
    (Action.SUBMIT_RECEIPT, LEFT, M(2025, 6), M(2025, 5), False, False),
    (Action.REDEEM_VOUCHER, LEFT, M(2025, 5), M(2025, 5), False, True),
    (Action.REDEEM_VOUCHER, LEFT, M(2024, 11), M(2025, 5), False, True),
    (Action.REDEEM_VOUCHER, LEFT, M(2025, 6), M(2025, 5), False, False),
    (Action.REDEEM_VOUCHER, LEFT, None, M(2025, 5), False, False),
    (Action.TERMINATE_NOW, LEFT, None, M(2025, 5), False, False),
    (Action.DELETE, LEFT, None, M(2025, 5), False, True),
    # Immediate termination: never with a voucher selected for the current month (SPEC §4.5).
    (Action.TERMINATE_NOW, ACTIVE, None, None, True, False),
    (Action.TERMINATE_NOW, LEAVING, None, M(2025, 9), True, False),
]


@pytest.mark.parametrize(
    ("action", "status", "month", "last_month", "voucher", "allowed"),
    CHECKS,
    ids=[f"{a}-{s}-{m}-lwm{lm}-{'voucher' if v else 'novoucher'}" for a, s, m, lm, v, _ in CHECKS],
)
def test_check_allows_what_the_status_permits(
    action: Action,
    status: str,
    month: Month | None,
    last_month: Month | None,
    voucher: bool,
    allowed: bool,
) -> None:
    decision = rules.check(
        action,
        status=status,
        today=TODAY,
        last_month=last_month,
        month=month,
        has_voucher_this_month=voucher,
    )
    assert decision.allowed is allowed
    assert bool(decision) is allowed
    # A refusal always says why, for the person who tried; an allowance says nothing.
    assert (decision.reason != "") is not allowed


def test_every_action_and_status_is_in_the_table() -> None:
    covered = {(action, status) for action, status, *_ in CHECKS}
    assert covered == {(a, s) for a in Action for s in (ACTIVE, LEAVING, LEFT)}


def test_refusal_for_leaving_planned_names_the_reason() -> None:
    decision = rules.check(
        Action.CONFIGURE_BENEFIT, status=LEAVING, today=TODAY, last_month=M(2025, 9)
    )
    assert "no further benefits" in decision.reason


def test_refusal_for_a_month_after_the_last_working_month_names_that_month() -> None:
    decision = rules.check(
        Action.SELECT_VOUCHER, status=LEAVING, today=TODAY, last_month=M(2025, 9), month=M(2025, 10)
    )
    assert "September 2025" in decision.reason  # a month as people read it, not "2025-09"


def test_immediate_termination_refusal_explains_the_voucher() -> None:
    decision = rules.check(
        Action.TERMINATE_NOW, status=ACTIVE, today=TODAY, has_voucher_this_month=True
    )
    assert "voucher" in decision.reason
