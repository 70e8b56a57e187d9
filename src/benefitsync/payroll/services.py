"""Payroll: reading a month from the database, closing it, exporting it, and its settings.

The rules are in `figures.py` (pure); this module reads their inputs (`collect`), keeps closed
months frozen and turns later changes into corrections (`lines_for`), and writes the records
(`do_close_month`, `do_export`, `do_update_settings`: atomic and audited, like every `do_*`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.db.models import BigIntegerField, Count, F, Q, QuerySet, Sum
from django.db.models.functions import Cast, Round
from django.utils.formats import number_format
from django.utils.translation import gettext as _

from benefitsync.audit import services as audit
from benefitsync.benefits.models import (
    BenefitType,
    EmployeeBenefit,
    Receipt,
    ReceiptStatus,
    VoucherSelection,
)
from benefitsync.employees.models import Employee
from benefitsync.lib.months import Month
from benefitsync.payroll import figures
from benefitsync.payroll.figures import ApprovedReceipt, EmployeeMonth, Line
from benefitsync.payroll.models import ClosedMonth, ExportFormat, PayrollExport, PayrollSettings
from benefitsync.payroll.statutory import TABLES, NoStatutoryValues, YearValues, values_for
from benefitsync.payroll.writers import Statement, csv_bytes, lodas_bytes

if TYPE_CHECKING:
    from benefitsync.accounts.models import User
    from benefitsync.companies.models import Company


class PayrollRefused(Exception):
    """An export or a close that cannot be done; the message says why (translated)."""


def settings_for(company: Company) -> PayrollSettings:
    """The company's payroll settings; unsaved defaults when none were set yet."""
    found = PayrollSettings.objects.filter(company=company).first()
    return found or PayrollSettings(company=company)


def _values(month: Month) -> YearValues:
    try:
        return values_for(month)
    except NoStatutoryValues as missing:
        raise PayrollRefused(
            _("The statutory values for %(year)s are not filled in yet (payroll/statutory.py).")
            % {"year": missing.year}
        ) from None


# --- reading a month ---------------------------------------------------------------------------


def _active_benefits(company: Company, month: Month) -> QuerySet[EmployeeBenefit]:
    """Benefits of the company active in `month` (`EmployeeBenefit.is_active_in` as a query)."""
    first = month.first_day
    return EmployeeBenefit.objects.filter(company=company, start_month__lte=first).filter(
        Q(end_month__isnull=True) | Q(end_month__gte=first)
    )


def collect(company: Company, month: Month) -> list[EmployeeMonth]:
    """What each employee of the company got in `month`, as the pure module's input.

    The voucher chosen for the month and the approved receipts count only where their benefit is
    active in the month (a benefit ended by leaving or termination pays nothing). A receipt counts
    with its `approved_amount`: what the HR admin granted, never more than was left of the month.
    Four queries, whatever the number of employees.
    """
    active = _active_benefits(company, month)
    monthly: dict[int, dict[str, Decimal]] = defaultdict(dict)
    for employee_id, kind, amount in active.values_list("employee_id", "kind", "monthly_amount"):
        monthly[employee_id][kind] = monthly[employee_id].get(kind, Decimal(0)) + amount
    vouchers: dict[int, Decimal] = {}
    for employee_id, amount in VoucherSelection.objects.filter(
        company=company,
        month=month.first_day,
        benefit__in=active.filter(kind=BenefitType.VOUCHER),
    ).values_list("employee_id", "amount"):
        vouchers[employee_id] = amount
    receipts: dict[int, list[ApprovedReceipt]] = defaultdict(list)
    for employee_id, kind, granted in (
        Receipt.objects.filter(
            company=company,
            month=month.first_day,
            status=ReceiptStatus.APPROVED,
            benefit__in=active,
        )
        .order_by("created_at", "id")
        # What the HR admin granted (at most what was left of the month), not what was asked.
        .values_list("employee_id", "benefit__kind", "approved_amount")
    ):
        # A database check makes every approved receipt carry its granted amount.
        receipts[employee_id].append(ApprovedReceipt(kind, granted or Decimal(0)))
    ids = set(vouchers) | set(receipts)
    # The whole company rather than `pk__in=ids`: a list of 100,000 ids would exceed SQLite's
    # limit on query parameters, and most employees of the month are in it anyway.
    people = Employee.objects.filter(company=company).values_list(
        "pk", "personnel_number", "first_name", "last_name", "last_working_month"
    )
    return [
        EmployeeMonth(
            employee_id=pk,
            personnel_number=(number or "").strip(),
            name=f"{first} {last}".strip(),
            voucher=vouchers.get(pk),
            receipts=tuple(receipts.get(pk, ())),
            monthly_amounts=monthly.get(pk, {}),
            last_month=None if lwm is None else Month.of(lwm),
        )
        for pk, number, first, last, lwm in people.iterator(chunk_size=5000)
        if pk in ids
    ]


def current_lines(company: Company, month: Month) -> list[Line]:
    """The month's own lines as the data are now."""
    return figures.month_lines(collect(company, month), month, _values(month))


def closed_months(company: Company) -> list[ClosedMonth]:
    """The company's closed months, oldest first, without their lines (a large company's month
    has tens of thousands; they are read only where needed)."""
    return list(ClosedMonth.objects.filter(company=company).order_by("month").defer("lines"))


def _booked(company: Company) -> dict[Month, list[Line]]:
    """Every line booked for each closed month: its own lines and the corrections later closed
    months took in for it."""
    booked: dict[Month, list[Line]] = defaultdict(list)
    for month, lines in ClosedMonth.objects.filter(company=company).values_list("month", "lines"):
        for data in lines:
            line = Line.from_json(data)
            booked[line.corrects or Month.of(month)].append(line)
    return booked


def first_open_month(closed: list[ClosedMonth]) -> Month | None:
    """The month after the last closed one: it takes the corrections (None: nothing closed)."""
    return closed[-1].as_month.next() if closed else None


def _weighted(amount: str) -> Sum:
    """Sum of amount in cents × id, in integers: exact and independent of the order the database
    adds the rows in (a float sum is not, so the same rows could give a different fingerprint
    in a differently planned query)."""
    cents = Cast(Round(F(amount) * 100), BigIntegerField())
    return Sum(cents * F("id"), output_field=BigIntegerField())


def _group(queryset: QuerySet[Any], by: str, **aggregates: Any) -> dict[Any, dict[str, Any]]:
    """`aggregates` per value of `by` (one GROUP BY query; no default ordering in the way)."""
    rows = queryset.order_by().values(by).annotate(**aggregates)
    return {row.pop(by): row for row in rows}


def inputs_fingerprints(company: Company, months: list[Month]) -> dict[Month, list[str]]:
    """Per month, aggregates over everything `collect` reads for it: counts, sums of ids and
    of amounts weighted by id, of the benefits active in the month, the month's voucher choices
    and approved receipts, and the employees (all, and those whose last working month lies
    before the month).

    Equal fingerprints mean unchanged inputs: every change the portal can make to them (a
    receipt approved, a benefit ended or its amount changed, a voucher changed, a leaving, a
    deletion) changes a count or a weighted sum, and two changes that cancel out in both would
    have to happen together. Grouped by month, so the receipts are read once for all months,
    instead of recomputing each month.
    """
    firsts = [month.first_day for month in months]
    vouchers = _group(
        VoucherSelection.objects.filter(company=company, month__in=firsts),
        "month",
        n=Count("id"),
        ids=Sum("id"),
        w=_weighted("amount"),
        b=Sum(F("benefit_id") * F("id")),
    )
    receipts = _group(
        Receipt.objects.filter(company=company, month__in=firsts, status=ReceiptStatus.APPROVED),
        "month",
        n=Count("id"),
        ids=Sum("id"),
        w=_weighted("approved_amount"),
    )
    people = Employee.objects.filter(company=company)
    everyone = people.aggregate(n=Count("id"), ids=Sum("id"))
    leaving = _group(
        people.filter(last_working_month__isnull=False),
        "last_working_month",
        n=Count("id"),
        ids=Sum("id"),
    )
    result: dict[Month, list[str]] = {}
    for month in months:
        first = month.first_day
        benefits = _active_benefits(company, month).aggregate(
            n=Count("id"), ids=Sum("id"), w=_weighted("monthly_amount")
        )
        gone = [row for lwm, row in leaving.items() if lwm < first]
        left = {"n": sum(r["n"] for r in gone), "ids": sum(r["ids"] for r in gone)}
        groups = (benefits, vouchers.get(first, {}), receipts.get(first, {}), everyone, left)
        result[month] = [f"{key}={group[key] or 0}" for group in groups for key in sorted(group)]
    return result


def inputs_fingerprint(company: Company, month: Month) -> list[str]:
    return inputs_fingerprints(company, [month])[month]


@dataclass(frozen=True)
class Pending:
    """Corrections of closed months, and the fingerprint of each closed month's inputs taken
    before it was recomputed (stored by the close that books the corrections)."""

    lines: list[Line]
    fingerprints: dict[int, list[str]]


def pending_corrections(company: Company, closed: list[ClosedMonth]) -> Pending:
    """Correction lines for every closed month whose inputs changed since it was last booked.

    Each closed month's fingerprint is taken *before* it is recomputed: a change that lands in
    between is caught next time rather than hidden by a newer fingerprint."""
    current = inputs_fingerprints(company, [record.as_month for record in closed])
    fingerprints = {record.pk: current[record.as_month] for record in closed}
    changed = [record for record in closed if record.inputs != fingerprints[record.pk]]
    if not changed:
        return Pending([], fingerprints)
    booked = _booked(company)
    present = set(Employee.objects.filter(company=company).values_list("pk", flat=True))
    result: list[Line] = []
    for record in changed:
        month = record.as_month
        result += figures.corrections(
            month, now=current_lines(company, month), booked=booked[month], present=present
        )
    return Pending(result, fingerprints)


@dataclass(frozen=True)
class MonthView:
    """A payroll month as the page, the export and the close see it."""

    month: Month
    lines: list[Line]
    closed: ClosedMonth | None
    takes_corrections: bool
    # The closed months' input fingerprints taken for the corrections (first open month only).
    fingerprints: dict[int, list[str]] = field(default_factory=dict)


def month_view(company: Company, month: Month) -> MonthView:
    """A closed month: its frozen lines, unchanged. An open month: its lines as the data are now,
    plus, when it is the first month after the last closed one, the corrections of closed months.
    """
    closed = closed_months(company)
    frozen = next((record for record in closed if record.as_month == month), None)
    if frozen is not None:
        lines = [Line.from_json(data) for data in frozen.lines]
        return MonthView(month, lines, frozen, takes_corrections=False)
    lines = current_lines(company, month)
    if first_open_month(closed) != month:
        return MonthView(month, lines, None, takes_corrections=False)
    pending = pending_corrections(company, closed)
    if pending.lines:
        lines = sorted([*lines, *pending.lines], key=figures.sort_key)
    return MonthView(month, lines, None, True, pending.fingerprints)


def statement(company: Company, view: MonthView) -> Statement:
    settings = settings_for(company)
    return Statement(
        company_name=company.name,
        month=view.month,
        lines=tuple(view.lines),
        wage_types=dict(settings.wage_types or {}),
        consultant_number=settings.consultant_number,
        client_number=settings.client_number,
    )


# --- closing a month ---------------------------------------------------------------------------


def close_refusal(
    company: Company, month: Month, *, today: dt.date, settings: PayrollSettings | None = None
) -> str:
    """Why `month` cannot be closed today ("" when it can). Months close in order, one after the
    other, and not before the month's cut-off day: receipts are still coming in before it."""
    settings = settings or settings_for(company)
    closed = closed_months(company)
    if any(record.as_month == month for record in closed):
        return _("%(month)s is already closed.") % {"month": month}
    following = first_open_month(closed)
    if following is not None and month != following:
        return _("Months are closed in order: the next month to close is %(month)s.") % {
            "month": following
        }
    cutoff = dt.date(month.year, month.month, settings.cutoff_day)
    if today < cutoff:
        return _("%(month)s can be closed from its cut-off day, %(date)s, on.") % {
            "month": month,
            "date": cutoff.isoformat(),
        }
    return ""


@transaction.atomic
def do_close_month(
    company: Company, month: Month, *, today: dt.date, acting_user: User | None
) -> ClosedMonth:
    """Freeze `month`: its lines (and the corrections it takes in) are stored and never change.

    Locks the company's payroll settings row, so two closes (or a close and a settings change)
    run one after the other. Refused (`PayrollRefused`) out of order or before the cut-off day.
    """
    settings, _created = PayrollSettings.objects.get_or_create(company=company)
    settings = PayrollSettings.objects.select_for_update().get(pk=settings.pk)
    refusal = close_refusal(company, month, today=today, settings=settings)
    if refusal:
        raise PayrollRefused(refusal)
    # Fingerprint first, figures second: a change landing in between makes the next look differ.
    inputs = inputs_fingerprint(company, month)
    view = month_view(company, month)
    record = ClosedMonth.objects.create(
        company=company,
        month=month.first_day,
        lines=[line.to_json() for line in view.lines],
        inputs=inputs,
        closed_by=acting_user,
    )
    # The corrections of earlier months are booked now: their inputs as recomputed are the new
    # reference, so an unchanged month is not recomputed again.
    for pk, fingerprint in view.fingerprints.items():
        ClosedMonth.objects.filter(pk=pk).update(inputs=fingerprint)
    audit.record(
        "payroll.close",
        company=company,
        actor=acting_user,
        target=f"payroll:{month}",
        lines=len(view.lines),
        corrections=sum(1 for line in view.lines if line.corrects is not None),
    )
    return record


# --- exporting ---------------------------------------------------------------------------------


def filename(company: Company, month: Month, fmt: str) -> str:
    suffix = "csv" if fmt == ExportFormat.CSV else "txt"
    kind = "benefits" if fmt == ExportFormat.CSV else "lodas"
    return f"payroll-{company.slug}-{month}-{kind}.{suffix}"


def render(company: Company, month: Month, fmt: str) -> tuple[bytes, Statement, MonthView]:
    """The file's content (no record written): refused for LODAS without the DATEV numbers."""
    view = month_view(company, month)
    document = statement(company, view)
    if fmt == ExportFormat.DATEV_LODAS:
        if not (document.consultant_number and document.client_number):
            raise PayrollRefused(
                _("Set the DATEV consultant and client number in the payroll settings first.")
            )
        return lodas_bytes(document), document, view
    if fmt == ExportFormat.CSV:
        return csv_bytes(document), document, view
    raise PayrollRefused(_("Unknown format %(format)s.") % {"format": fmt})


@transaction.atomic
def do_export(
    company: Company, month: Month, fmt: str, *, acting_user: User | None
) -> PayrollExport:
    """Render the month's file and record it (who, when, month, format, SHA-256, the content)."""
    content, document, view = render(company, month, fmt)
    export = PayrollExport.objects.create(
        company=company,
        month=month.first_day,
        format=fmt,
        month_closed=view.closed is not None,
        filename=filename(company, month, fmt),
        content=content,
        checksum=hashlib.sha256(content).hexdigest(),
        line_count=len(document.lines),
        problems=[p.to_json() for p in document.problems(lodas=fmt == ExportFormat.DATEV_LODAS)],
        created_by=acting_user,
    )
    audit.record(
        "payroll.export",
        company=company,
        actor=acting_user,
        target=f"payroll:{month}",
        export=export.pk,
        format=fmt,
        checksum=export.checksum,
    )
    return export


# --- settings ----------------------------------------------------------------------------------


@transaction.atomic
def do_update_settings(
    company: Company,
    *,
    consultant_number: str,
    client_number: str,
    cutoff_day: int,
    wage_types: Mapping[str, str],
    acting_user: User | None,
) -> PayrollSettings:
    """Set the company's payroll settings; the audit log records each changed value."""
    settings, _created = PayrollSettings.objects.get_or_create(company=company)
    settings = PayrollSettings.objects.select_for_update().get(pk=settings.pk)
    known = {figures.slot_key(kind, treatment) for kind, treatment in figures.SLOTS}
    new_types = {k: v.strip() for k, v in sorted(wage_types.items()) if k in known}
    before = {
        "consultant_number": settings.consultant_number,
        "client_number": settings.client_number,
        "cutoff_day": settings.cutoff_day,
        "wage_types": dict(sorted((settings.wage_types or {}).items())),
    }
    settings.consultant_number = consultant_number.strip()
    settings.client_number = client_number.strip()
    settings.cutoff_day = cutoff_day
    settings.wage_types = new_types
    after = {
        "consultant_number": settings.consultant_number,
        "client_number": settings.client_number,
        "cutoff_day": cutoff_day,
        "wage_types": new_types,
    }
    settings.full_clean(exclude=["company"])
    settings.save()
    changes = {key: [before[key], after[key]] for key in after if before[key] != after[key]}
    if changes:
        audit.record(
            "payroll.settings",
            company=company,
            actor=acting_user,
            target="payroll:settings",
            changes=changes,
        )
    return settings


# --- the voucher Freigrenze warning ------------------------------------------------------------


def _limit_values(month: Month) -> YearValues:
    # A warning needs no exact year: a year not filled in yet uses the latest known table.
    try:
        return values_for(month)
    except NoStatutoryValues:
        return TABLES[max(TABLES)]


def voucher_limit_warning(employee: Employee, month: Month) -> str:
    """A warning (never a refusal) when the voucher benefits of `employee` active in `month`
    add up to more than the month's Freigrenze for non-cash benefits: all of it becomes taxable,
    not only the part above. "" when within it."""
    values = _limit_values(month)
    total = sum(
        (
            benefit.monthly_amount
            for benefit in EmployeeBenefit.objects.filter(
                employee=employee, kind=BenefitType.VOUCHER
            )
            if benefit.is_active_in(month)
        ),
        Decimal(0),
    )
    limit = values.non_cash_limit.amount
    if total <= limit:
        return ""
    return _(
        "Vouchers of %(amount)s € a month are over the %(limit)s € limit for non-cash benefits "
        "(§ 8 Abs. 2 Satz 11 EStG): the whole amount becomes taxable wage, not only the part "
        "above %(limit)s €."
    ) % {"amount": number_format(total, 2), "limit": number_format(limit, 0)}
