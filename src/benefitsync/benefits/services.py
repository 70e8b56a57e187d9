"""State changes of benefits. Views, the API, the sync and the CLI all go through here."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from benefitsync.benefits.models import EmployeeBenefit, EndReason
from benefitsync.lib.months import Month

if TYPE_CHECKING:
    from benefitsync.employees.models import Employee


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
