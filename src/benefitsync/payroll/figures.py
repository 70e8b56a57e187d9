"""The month's payroll figures: PURE (no ORM, no clock, no I/O), table-tested.

`employee_lines(employee, month, values)` turns what one employee got in a month (the voucher
chosen, the approved receipts, the monthly amounts of the benefits active that month) into payroll
lines: one per benefit kind and tax treatment, each with the flags payroll must see.
`corrections(...)` compares a closed month's frozen lines with what the month looks like now and
returns the difference as correction lines for the next open month.

The rules (sources in `statutory.py`, explained in docs/payroll.md):

- voucher (Sachbezug): tax-free while the month's non-cash benefits together stay within the
  Freigrenze; one cent over and all of it is taxable (flag `freigrenze_exceeded`);
- meal allowance: approved receipts, at most the benefit's monthly amount; per meal (one receipt
  is one meal, in the order submitted) up to meal value + top-up is tax-free, for at most 15 meals;
  the rest is taxable — individually, not flat-taxed: an allowance above the limit is ordinary
  wage (flags `meal_above_daily_value`, `meals_above_monthly_count`);
- internet allowance: approved receipts, at most the benefit's monthly amount; up to 50 € flat-taxed
  at 25 %, the rest taxable (flag `internet_above_limit`);
- mobility (job ticket): approved receipts, at most the benefit's monthly amount, tax-free and
  marked for the wage tax statement (flag `job_ticket_certificate`);
- nothing after the employee's last working month.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from enum import StrEnum
from typing import Any

from benefitsync.lib.months import Month
from benefitsync.payroll.statutory import YearValues

# Benefit kinds, as stored in `benefits.BenefitType` (spelled out here: this module imports no
# models, so its tests need no database).
VOUCHER, MEAL, INTERNET, MOBILITY = "voucher", "meal", "internet", "mobility"
KINDS = (VOUCHER, MEAL, INTERNET, MOBILITY)

ZERO = Decimal("0.00")
CENT = Decimal("0.01")


class Treatment(StrEnum):
    TAX_FREE = "tax_free"
    FLAT_25 = "flat_25"  # flat-rate wage tax of 25 %, paid by the employer
    TAXABLE = "taxable"  # ordinary wage: taxed and insured individually


class Flag(StrEnum):
    FREIGRENZE_EXCEEDED = "freigrenze_exceeded"
    MEAL_ABOVE_DAILY_VALUE = "meal_above_daily_value"
    MEALS_ABOVE_MONTHLY_COUNT = "meals_above_monthly_count"
    INTERNET_ABOVE_LIMIT = "internet_above_limit"
    CAPPED_AT_MONTHLY_AMOUNT = "capped_at_monthly_amount"
    JOB_TICKET_CERTIFICATE = "job_ticket_certificate"
    CORRECTION = "correction"


# Every (kind, treatment) a line can have: the company sets one wage type (Lohnart) for each.
SLOTS: tuple[tuple[str, Treatment], ...] = (
    (VOUCHER, Treatment.TAX_FREE),
    (VOUCHER, Treatment.TAXABLE),
    (MEAL, Treatment.TAX_FREE),
    (MEAL, Treatment.TAXABLE),
    (INTERNET, Treatment.FLAT_25),
    (INTERNET, Treatment.TAXABLE),
    (MOBILITY, Treatment.TAX_FREE),
)


def slot_key(kind: str, treatment: str) -> str:
    """The key of a wage type in the company's settings: "meal:taxable"."""
    return f"{kind}:{treatment}"


_ORDER = {slot: index for index, slot in enumerate(SLOTS)}


@dataclass(frozen=True)
class ApprovedReceipt:
    kind: str
    amount: Decimal


@dataclass(frozen=True)
class EmployeeMonth:
    """What one employee got in one month, read from the database by `payroll.services`.

    `voucher`: the amount of the voucher chosen for the month (its benefit active that month), or
    None. `receipts`: approved receipts of the month whose benefit is active that month, in the
    order they were submitted. `monthly_amounts`: kind → monthly amount of the benefits of that
    kind active in the month (the cap of what is reimbursed). `last_month`: the last working
    month, None when no leaving is planned.
    """

    employee_id: int
    personnel_number: str
    name: str
    voucher: Decimal | None = None
    receipts: tuple[ApprovedReceipt, ...] = ()
    monthly_amounts: Mapping[str, Decimal] = field(default_factory=dict, hash=False)
    last_month: Month | None = None


@dataclass(frozen=True)
class Line:
    """One row of the payroll file: an employee's amount of one benefit kind with one treatment.

    `corrects` is the closed month a correction line belongs to (None for the month's own lines).
    """

    employee_id: int
    personnel_number: str
    name: str
    kind: str
    treatment: Treatment
    amount: Decimal
    flags: tuple[Flag, ...] = ()
    corrects: Month | None = None

    @property
    def key(self) -> tuple[int, str, Treatment]:
        return (self.employee_id, self.kind, self.treatment)

    @property
    def slot(self) -> str:
        return slot_key(self.kind, self.treatment)

    def to_json(self) -> dict[str, Any]:
        return {
            "employee_id": self.employee_id,
            "personnel_number": self.personnel_number,
            "name": self.name,
            "kind": self.kind,
            "treatment": str(self.treatment),
            "amount": str(self.amount),
            "flags": [str(flag) for flag in self.flags],
            "corrects": None if self.corrects is None else str(self.corrects),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Line:
        corrects = data.get("corrects")
        return cls(
            employee_id=int(data["employee_id"]),
            personnel_number=str(data["personnel_number"]),
            name=str(data["name"]),
            kind=str(data["kind"]),
            treatment=Treatment(data["treatment"]),
            amount=Decimal(str(data["amount"])),
            flags=tuple(Flag(flag) for flag in data.get("flags", ())),
            corrects=None if corrects is None else Month.parse(str(corrects)),
        )


def sort_key(line: Line) -> tuple[Any, ...]:
    """File order: by personnel number (empty last), name, employee; then kind and treatment in
    the order of SLOTS; a month's own line before its corrections, corrections oldest first."""
    return (
        line.personnel_number == "",
        line.personnel_number,
        line.name,
        line.employee_id,
        _ORDER.get((line.kind, line.treatment), len(_ORDER)),
        "" if line.corrects is None else str(line.corrects),
    )


def _line(
    employee: EmployeeMonth, kind: str, treatment: Treatment, amount: Decimal, flags: Iterable[Flag]
) -> Line:
    return Line(
        employee_id=employee.employee_id,
        personnel_number=employee.personnel_number,
        name=employee.name,
        kind=kind,
        treatment=treatment,
        amount=amount.quantize(CENT),
        flags=tuple(dict.fromkeys(flags)),
    )


def _paid(employee: EmployeeMonth, kind: str) -> tuple[list[Decimal], bool]:
    """The amounts paid per approved receipt of `kind`, in order, capped together at the benefit's
    monthly amount; and whether the cap cut anything."""
    left = employee.monthly_amounts.get(kind, ZERO)
    paid: list[Decimal] = []
    capped = False
    for receipt in employee.receipts:
        if receipt.kind != kind:
            continue
        amount = min(receipt.amount, left)
        capped = capped or amount < receipt.amount
        left -= amount
        if amount > 0:
            paid.append(amount)
    return paid, capped


def _voucher(employee: EmployeeMonth, values: YearValues) -> list[Line]:
    if employee.voucher is None or employee.voucher <= 0:
        return []
    # The vouchers are the portal's only non-cash benefit that counts towards the Freigrenze
    # (the meal allowance and the job ticket have their own rules), so the month's total is the
    # voucher's amount.
    if employee.voucher <= values.non_cash_limit.amount:
        return [_line(employee, VOUCHER, Treatment.TAX_FREE, employee.voucher, ())]
    return [
        _line(employee, VOUCHER, Treatment.TAXABLE, employee.voucher, [Flag.FREIGRENZE_EXCEEDED])
    ]


def _meal(employee: EmployeeMonth, values: YearValues) -> list[Line]:
    paid, capped = _paid(employee, MEAL)
    per_meal = values.meal_limit
    meals = int(values.meals_per_month.amount)
    tax_free = taxable = ZERO
    reasons: list[Flag] = []
    for index, amount in enumerate(paid):
        if index >= meals:
            taxable += amount
            reasons.append(Flag.MEALS_ABOVE_MONTHLY_COUNT)
            continue
        free = min(amount, per_meal)
        tax_free += free
        if amount > free:
            taxable += amount - free
            reasons.append(Flag.MEAL_ABOVE_DAILY_VALUE)
    common = [Flag.CAPPED_AT_MONTHLY_AMOUNT] if capped else []
    lines = []
    if tax_free:
        lines.append(_line(employee, MEAL, Treatment.TAX_FREE, tax_free, common))
    if taxable:
        lines.append(_line(employee, MEAL, Treatment.TAXABLE, taxable, [*reasons, *common]))
    return lines


def _internet(employee: EmployeeMonth, values: YearValues) -> list[Line]:
    paid, capped = _paid(employee, INTERNET)
    total = sum(paid, ZERO)
    flat = min(total, values.internet_limit.amount)
    common = [Flag.CAPPED_AT_MONTHLY_AMOUNT] if capped else []
    lines = []
    if flat:
        lines.append(_line(employee, INTERNET, Treatment.FLAT_25, flat, common))
    if total > flat:
        lines.append(
            _line(
                employee,
                INTERNET,
                Treatment.TAXABLE,
                total - flat,
                [Flag.INTERNET_ABOVE_LIMIT, *common],
            )
        )
    return lines


def _mobility(employee: EmployeeMonth) -> list[Line]:
    paid, capped = _paid(employee, MOBILITY)
    total = sum(paid, ZERO)
    if not total:
        return []
    flags = [Flag.JOB_TICKET_CERTIFICATE, *([Flag.CAPPED_AT_MONTHLY_AMOUNT] if capped else [])]
    return [_line(employee, MOBILITY, Treatment.TAX_FREE, total, flags)]


def employee_lines(employee: EmployeeMonth, month: Month, values: YearValues) -> list[Line]:
    """The payroll lines of one employee in `month` (none after the last working month)."""
    if employee.last_month is not None and month > employee.last_month:
        return []
    return [
        *_voucher(employee, values),
        *_meal(employee, values),
        *_internet(employee, values),
        *_mobility(employee),
    ]


def month_lines(employees: Iterable[EmployeeMonth], month: Month, values: YearValues) -> list[Line]:
    """Every employee's lines of `month`, in file order."""
    lines = [line for e in employees for line in employee_lines(e, month, values)]
    return sorted(lines, key=sort_key)


def corrections(
    corrected: Month,
    *,
    now: Sequence[Line],
    booked: Sequence[Line],
    present: frozenset[int] | set[int],
) -> list[Line]:
    """Correction lines for the closed month `corrected`: what it looks like `now` minus what was
    `booked` for it (its frozen lines plus corrections already booked in later closed months),
    per employee, kind and treatment. Only employees still `present`: an employee deleted since
    (GDPR) has no figures now, which is no reason to reverse what was paid."""
    booked_amounts: dict[tuple[int, str, Treatment], Decimal] = {}
    booked_line: dict[tuple[int, str, Treatment], Line] = {}
    for line in booked:
        if line.employee_id in present:
            booked_amounts[line.key] = booked_amounts.get(line.key, ZERO) + line.amount
            booked_line.setdefault(line.key, line)
    now_lines = {line.key: line for line in now if line.employee_id in present}
    result = []
    for key in dict.fromkeys([*now_lines, *booked_amounts]):
        current = now_lines.get(key)
        difference = (current.amount if current else ZERO) - booked_amounts.get(key, ZERO)
        if not difference:
            continue
        model = current or booked_line[key]
        result.append(
            replace(
                model,
                amount=difference.quantize(CENT),
                flags=tuple(dict.fromkeys([*model.flags, Flag.CORRECTION])),
                corrects=corrected,
            )
        )
    return sorted(result, key=sort_key)
