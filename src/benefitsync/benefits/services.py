"""State changes of benefits. Views, the API, the sync and the CLI all go through here."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal
from typing import TYPE_CHECKING

from django.db import transaction
from django.utils.translation import gettext_lazy as _

from benefitsync.audit import services as audit
from benefitsync.benefits.models import BenefitType, EmployeeBenefit, EndReason
from benefitsync.employees import rules
from benefitsync.employees.models import Employee
from benefitsync.lib.months import Month

if TYPE_CHECKING:
    from benefitsync.accounts.models import User


def end_benefits_for_leaving(employee_ids: Iterable[int], last_month: Month) -> int:
    """End every benefit of these employees at the end of `last_month` (the leaving rule).

    Benefits already ending earlier stay as they are; a hand-set later end is remembered so
    `undo_leaving_ends` can restore it. Re-applying with a moved month first restores, then ends
    again, so the result depends only on the latest last working month. Returns rows changed.
    """
    ids = list(employee_ids)
    undo_leaving_ends(ids)
    changed: list[EmployeeBenefit] = []
    end = last_month.first_day
    for benefit in EmployeeBenefit.objects.filter(employee_id__in=ids):
        if benefit.end_month is not None and benefit.end_month <= end:
            continue
        benefit.end_month_before_leaving = benefit.end_month
        benefit.end_month = end
        benefit.end_reason = EndReason.LEAVING
        changed.append(benefit)
    EmployeeBenefit.objects.bulk_update(
        changed, ["end_month", "end_month_before_leaving", "end_reason", "updated_at"]
    )
    return len(changed)


def undo_leaving_ends(employee_ids: Iterable[int]) -> int:
    """Undo the ends the leaving rule set; ends set by hand stay (SPEC §4.4)."""
    changed: list[EmployeeBenefit] = []
    for benefit in EmployeeBenefit.objects.filter(
        employee_id__in=list(employee_ids), end_reason=EndReason.LEAVING
    ):
        benefit.end_month = benefit.end_month_before_leaving
        benefit.end_reason = EndReason.MANUAL if benefit.end_month else EndReason.NONE
        benefit.end_month_before_leaving = None
        changed.append(benefit)
    EmployeeBenefit.objects.bulk_update(
        changed, ["end_month", "end_month_before_leaving", "end_reason", "updated_at"]
    )
    return len(changed)


def end_benefits_now(employee: Employee, current: Month) -> int:
    """Immediate termination: no benefit is active from `current` (this month) on."""
    end = current.previous().first_day
    changed = 0
    for benefit in EmployeeBenefit.objects.filter(employee=employee):
        if benefit.end_month is not None and benefit.end_month <= end:
            continue
        benefit.end_month = end
        benefit.end_reason = EndReason.TERMINATION
        benefit.save(update_fields=["end_month", "end_reason", "updated_at"])
        changed += 1
    return changed


# --- Benefits configured by the HR admin ---------------------------------------------------------
# Each is atomic, locks the employee row (so a concurrent sync marking them as leaving cannot slip
# between the rule check and the write), asks `employees.rules` and writes the audit log.


def _check_configurable(employee: Employee, today: dt.date) -> Employee:
    """Lock the employee and refuse when their status forbids configuring benefits (SPEC §6)."""
    # Imported here: employees.services imports this module at load time.
    from benefitsync.employees.services import lock_employee_for

    return lock_employee_for(employee, rules.Action.CONFIGURE_BENEFIT, today=today)


def _check_months(start_month: Month, end_month: Month | None) -> None:
    from benefitsync.employees.services import ActionRefused

    if end_month is not None and end_month < start_month:
        raise ActionRefused(str(_("The end month cannot lie before the start month.")))


def _check_amount(monthly_amount: Decimal) -> None:
    from benefitsync.employees.services import ActionRefused

    if monthly_amount <= 0:
        raise ActionRefused(str(_("The monthly amount must be greater than zero.")))


@transaction.atomic
def do_add_benefit(
    employee: Employee,
    *,
    kind: str,
    monthly_amount: Decimal,
    start_month: Month,
    end_month: Month | None,
    acting_user: User | None,
    today: dt.date,
) -> EmployeeBenefit:
    """Grant a benefit to an Active employee; refused (`ActionRefused`) for Leaving planned and
    Left, for an end before the start and for a non-positive amount."""
    employee = _check_configurable(employee, today)
    _check_months(start_month, end_month)
    _check_amount(monthly_amount)
    benefit = EmployeeBenefit.objects.create(
        company_id=employee.company_id,
        employee=employee,
        kind=BenefitType(kind),
        monthly_amount=monthly_amount,
        start_month=start_month.first_day,
        end_month=None if end_month is None else end_month.first_day,
        end_reason=EndReason.NONE if end_month is None else EndReason.MANUAL,
    )
    audit.record(
        "benefit.add",
        company=employee.company,
        actor=acting_user,
        target=f"benefit:{benefit.pk}",
        employee=employee.pk,
        kind=benefit.kind,
        monthly_amount=str(monthly_amount),
        start_month=str(start_month),
        end_month=None if end_month is None else str(end_month),
    )
    return benefit


@transaction.atomic
def do_change_benefit(
    benefit: EmployeeBenefit,
    *,
    monthly_amount: Decimal,
    start_month: Month,
    end_month: Month | None,
    acting_user: User | None,
    today: dt.date,
) -> EmployeeBenefit:
    """Change amount, start or end of a benefit of an Active employee (the kind stays: another
    kind is another benefit). Refused like `do_add_benefit`."""
    employee = _check_configurable(benefit.employee, today)
    benefit = EmployeeBenefit.objects.select_for_update().get(pk=benefit.pk, employee=employee)
    _check_months(start_month, end_month)
    _check_amount(monthly_amount)
    before = {
        "monthly_amount": str(benefit.monthly_amount),
        "start_month": str(Month.of(benefit.start_month)),
        "end_month": None if benefit.end_month is None else str(Month.of(benefit.end_month)),
    }
    benefit.monthly_amount = monthly_amount
    benefit.start_month = start_month.first_day
    benefit.end_month = None if end_month is None else end_month.first_day
    benefit.end_reason = EndReason.NONE if end_month is None else EndReason.MANUAL
    benefit.save(
        update_fields=["monthly_amount", "start_month", "end_month", "end_reason", "updated_at"]
    )
    after = {
        "monthly_amount": str(monthly_amount),
        "start_month": str(start_month),
        "end_month": None if end_month is None else str(end_month),
    }
    audit.record(
        "benefit.change",
        company=employee.company,
        actor=acting_user,
        target=f"benefit:{benefit.pk}",
        employee=employee.pk,
        changes={key: [before[key], after[key]] for key in after if before[key] != after[key]},
    )
    return benefit


@transaction.atomic
def do_end_benefit(
    benefit: EmployeeBenefit, *, end_month: Month, acting_user: User | None, today: dt.date
) -> EmployeeBenefit:
    """End a benefit with `end_month` (its last month). Never retroactive: the end month is the
    current month or later, because months already running may be paid or redeemed. A benefit
    that has not started yet ends before it begins when `end_month` precedes its start."""
    from benefitsync.employees.services import ActionRefused

    employee = _check_configurable(benefit.employee, today)
    benefit = EmployeeBenefit.objects.select_for_update().get(pk=benefit.pk, employee=employee)
    if end_month < Month.of(today):
        raise ActionRefused(str(_("A benefit cannot end in a past month.")))
    benefit.end_month = end_month.first_day
    benefit.end_reason = EndReason.MANUAL
    benefit.save(update_fields=["end_month", "end_reason", "updated_at"])
    audit.record(
        "benefit.end",
        company=employee.company,
        actor=acting_user,
        target=f"benefit:{benefit.pk}",
        employee=employee.pk,
        end_month=str(end_month),
    )
    return benefit
