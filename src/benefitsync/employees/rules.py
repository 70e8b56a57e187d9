"""The leaving and permission rules of SPEC §4 and §6 as pure functions (no I/O, no clock).

Every caller passes `today` in the company's time zone (`lib.months.local_today`).
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext_lazy as _

from benefitsync.lib.months import Month, month_label

# Fields whose value comes from Personio; read-only in the portal while the integration is
# connected (SPEC §3). The sync writes exactly these (plus lifecycle fields through services).
PERSONIO_FIELDS: tuple[str, ...] = (
    "first_name",
    "last_name",
    "email",
    "personnel_number",
    "employment_type",
    "hire_date",
    "leaving_date",
    "gender",
    "personio_company_name",
    "marital_status",
    "personio_status",
)

ACTIVE = "active"
LEAVING = "leaving"
LEFT = "left"


def last_working_month(leaving_date: dt.date, today: dt.date) -> Month:
    """The month whose end ends all benefits.

    The month of the leaving date; a leaving date in a past month (entered late) gives the current
    month, because termination is never retroactive (SPEC §4.1-2).
    """
    return max(Month.of(leaving_date), Month.of(today))


def recomputed_last_working_month(
    leaving_date: dt.date, current: Month | None, today: dt.date
) -> Month:
    """A changed leaving date moves the last working month, never into a past month (SPEC §4.4)."""
    del current  # the new date decides; the floor is this month, whatever was stored before
    return last_working_month(leaving_date, today)


def has_left(last_month: Month, today: dt.date) -> bool:
    """Leaving planned becomes Left on the first day after the last working month (SPEC §4.3)."""
    return Month.of(today) > last_month


class Action(enum.StrEnum):
    CONFIGURE_BENEFIT = "configure_benefit"
    SELECT_VOUCHER = "select_voucher"
    REDEEM_VOUCHER = "redeem_voucher"
    SUBMIT_RECEIPT = "submit_receipt"
    TERMINATE_NOW = "terminate_now"
    DELETE = "delete"


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    reason: str = ""

    def __bool__(self) -> bool:
        return self.allowed


ALLOW = Decision(True)


class ActionRefused(Exception):
    """A rule forbids the action; the message says why, for the person who tried."""


def require(action: Action, **facts: Any) -> None:
    """`check()`, raising ActionRefused with the reason when the action is not allowed."""
    decision = check(action, **facts)
    if not decision:
        raise ActionRefused(decision.reason)


def check(
    action: Action,
    *,
    status: str,
    today: dt.date,
    last_month: Month | None = None,
    month: Month | None = None,
    has_voucher_this_month: bool = False,
) -> Decision:
    """May an employee in `status` (or the HR admin, for them) do `action` for `month`?

    - Active: everything.
    - Leaving planned: no new benefits; vouchers and receipts up to the last working month.
    - Left: only redeem vouchers of months before the current one.
    Immediate termination needs no voucher selected for the current month (SPEC §4.5).
    """
    current = Month.of(today)
    target = month or current

    if action is Action.DELETE:
        return ALLOW
    if action is Action.TERMINATE_NOW:
        if status == LEFT:
            return Decision(False, str(_("The employee has already left.")))
        if has_voucher_this_month:
            return Decision(
                False,
                str(
                    _(
                        "A voucher (non-cash benefit) is already selected for this month; "
                        "immediate termination is not possible."
                    )
                ),
            )
        return ALLOW
    if action is Action.REDEEM_VOUCHER:
        if status == LEFT and target >= current:
            return Decision(False, str(_("After leaving, only vouchers of earlier months.")))
        return ALLOW

    if status == LEFT:
        return Decision(False, str(_("The employee has left.")))
    if action is Action.CONFIGURE_BENEFIT:
        if status == LEAVING:
            return Decision(
                False, str(_("Leaving is planned: no further benefits can be configured."))
            )
        return ALLOW
    # SELECT_VOUCHER, SUBMIT_RECEIPT
    if status == LEAVING and last_month is not None and target > last_month:
        return Decision(
            False,
            str(
                _("Leaving is planned: only months up to %(month)s are possible.")
                % {"month": month_label(last_month)}
            ),
        )
    return ALLOW
