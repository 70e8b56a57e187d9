"""Monthly vouchers (non-cash benefit): selection by the employee, issue of the code, redemption.

Rules come from `employees.rules.check`; this module adds what needs the database (is there a
voucher benefit that month? is the code issued?). Every refusal raises
`employees.services.ActionRefused` with a translated reason.
"""

from __future__ import annotations

import datetime as dt
import secrets
from decimal import Decimal
from typing import TYPE_CHECKING

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from benefitsync.audit import services as audit
from benefitsync.benefits.models import (
    BenefitType,
    EmployeeBenefit,
    MonthlyTotal,
    TotalKind,
    VoucherSelection,
)
from benefitsync.employees import rules
from benefitsync.employees.models import Employee
from benefitsync.employees.services import ActionRefused, lock_employee_for
from benefitsync.lib.months import Month, month_label

if TYPE_CHECKING:
    from benefitsync.accounts.models import User
    from benefitsync.companies.models import Company

# The gift cards on offer: key stored on the selection → name shown. A fixed list on purpose: the
# voucher partner contracts are per platform, not per company.
VOUCHER_PROVIDERS: dict[str, str] = {
    "amazon": "Amazon",
    "zalando": "Zalando",
    "rewe": "REWE",
    "ikea": "IKEA",
}


def provider_name(key: str) -> str:
    return VOUCHER_PROVIDERS.get(key, key)


def voucher_benefit_in(employee: Employee, month: Month) -> EmployeeBenefit | None:
    """The employee's voucher benefit active in `month`, if any."""
    for benefit in EmployeeBenefit.objects.filter(employee=employee, kind=BenefitType.VOUCHER):
        if benefit.is_active_in(month):
            return benefit
    return None


def selectable_months(employee: Employee, today: dt.date) -> list[Month]:
    """The months the selection form offers: this month and the next, where the rules allow."""
    current = Month.of(today)
    months = []
    for month in (current, current.next()):
        decision = rules.check(
            rules.Action.SELECT_VOUCHER,
            status=employee.status,
            today=today,
            last_month=employee.lwm,
            month=month,
        )
        if decision and voucher_benefit_in(employee, month) is not None:
            months.append(month)
    return months


@transaction.atomic
def do_select_voucher(
    employee: Employee,
    *,
    month: Month,
    provider: str,
    today: dt.date,
    acting_user: User | None,
) -> VoucherSelection:
    """Choose (or change, until its code is issued) the voucher of `month`.

    Allowed for the current and the next month only, in the status rules' limits (Leaving planned:
    up to the last working month; Left: never), and only where a voucher benefit covers the month.
    The employee row is locked, so an immediate termination cannot slip in between.
    """
    employee = lock_employee_for(employee, rules.Action.SELECT_VOUCHER, today=today, month=month)
    current = Month.of(today)
    if month < current:
        raise ActionRefused(_("Vouchers of past months can no longer be selected."))
    if month > current.next():
        raise ActionRefused(_("Vouchers can be selected for this month and the next one only."))
    if provider not in VOUCHER_PROVIDERS:
        raise ActionRefused(_("Please choose one of the vouchers offered."))
    benefit = voucher_benefit_in(employee, month)
    if benefit is None:
        raise ActionRefused(
            _("There is no voucher benefit for %(month)s.") % {"month": month_label(month)}
        )
    selection = VoucherSelection.objects.filter(employee=employee, month=month.first_day).first()
    if selection is not None:
        if selection.issued_at is not None:
            raise ActionRefused(
                _("The voucher for %(month)s is already issued and cannot be changed.")
                % {"month": month_label(month)}
            )
        selection.provider = provider
        selection.benefit = benefit
        selection.amount = benefit.monthly_amount
        selection.save(update_fields=["provider", "benefit", "amount"])
    else:
        selection = VoucherSelection.objects.create(
            company_id=employee.company_id,
            employee=employee,
            benefit=benefit,
            month=month.first_day,
            provider=provider,
            amount=benefit.monthly_amount,
        )
    audit.record(
        "voucher.select",
        company=employee.company,
        actor=acting_user,
        target=f"employee:{employee.pk}",
        selection=selection.pk,
        month=str(month),
        provider=provider,
    )
    return selection


@transaction.atomic
def do_redeem_voucher(
    selection: VoucherSelection, *, today: dt.date, acting_user: User | None
) -> VoucherSelection:
    """Mark an issued voucher as redeemed (the employee used the code).

    Left employees may redeem vouchers of earlier months only (SPEC §4.3).
    """
    selection = (
        VoucherSelection.objects.select_for_update().select_related("employee").get(pk=selection.pk)
    )
    employee = selection.employee
    rules.require(
        rules.Action.REDEEM_VOUCHER,
        status=employee.status,
        today=today,
        last_month=employee.lwm,
        month=Month.of(selection.month),
    )
    if selection.issued_at is None:
        raise ActionRefused(_("This voucher has not been issued yet."))
    if selection.redeemed_at is not None:
        raise ActionRefused(_("This voucher is already redeemed."))
    selection.redeemed_at = timezone.now()
    selection.save(update_fields=["redeemed_at"])
    audit.record(
        "voucher.redeem",
        company=employee.company,
        actor=acting_user,
        target=f"employee:{employee.pk}",
        selection=selection.pk,
    )
    return selection


def new_code(provider: str) -> str:
    return f"{provider[:4].upper()}-{secrets.token_hex(6).upper()}"


def add_to_total(company_id: int, month: Month, kind: str, amount: Decimal) -> None:
    """Add one item to the anonymous monthly totals (caller's transaction)."""
    total, _created = MonthlyTotal.objects.select_for_update().get_or_create(
        company_id=company_id, month=month.first_day, kind=kind
    )
    MonthlyTotal.objects.filter(pk=total.pk).update(
        amount=F("amount") + amount, count=F("count") + 1
    )


def issue_due_vouchers(company: Company, *, today: dt.date) -> list[int]:
    """Issue codes for selections of this and earlier months that have none yet, where the voucher
    benefit still covers the month (a benefit ended by leaving or termination issues nothing).
    Idempotent: issued rows are never touched again. Returns the ids issued."""
    current = Month.of(today)
    issued: list[int] = []
    with transaction.atomic():
        due = (
            VoucherSelection.objects.select_for_update()
            .select_related("benefit")
            .filter(company=company, issued_at__isnull=True, month__lte=current.first_day)
        )
        for selection in due:
            month = Month.of(selection.month)
            if not selection.benefit.is_active_in(month):
                continue
            selection.code = new_code(selection.provider)
            selection.issued_at = timezone.now()
            selection.save(update_fields=["code", "issued_at"])
            add_to_total(company.pk, month, TotalKind.VOUCHER, selection.amount)
            issued.append(selection.pk)
        if issued:
            audit.record("voucher.issue", company=company, actor=None, target="", selections=issued)
    return issued
