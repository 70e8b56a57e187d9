"""The statutory values the month's figures use, one table per year, each number with its source.

The payroll month chooses the year (`values_for(month)`). A year without a table is refused, not
guessed: the values change every year (the meal value with the Sozialversicherungsentgelt-
verordnung), and a file built on last year's numbers would be wrong without anyone noticing.
Adding a year is adding one `YearValues` to `TABLES`, with the source of each number.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from benefitsync.lib.months import Month


@dataclass(frozen=True)
class Value:
    """One statutory number, the rule it comes from (a German citation, the same in every
    language) and a note on what it means (translated)."""

    amount: Decimal
    source: str
    note: Promise | str = ""


@dataclass(frozen=True)
class YearValues:
    year: int
    # Non-cash benefits (vouchers) of a month are tax-free up to this amount *together*; one cent
    # over and all of it is taxable (a Freigrenze, not an allowance).
    non_cash_limit: Value
    # The official value of a lunch (Sachbezugswert) for the year.
    meal_value: Value
    # What an employer may add per meal above the meal value and still use it.
    meal_top_up: Value
    # How many meals a month count.
    meals_per_month: Value
    # Internet allowance flat-taxed at 25 % without proof of the actual costs, per month.
    internet_limit: Value
    internet_flat_rate: Value

    @property
    def meal_limit(self) -> Decimal:
        """The part of one meal's allowance that stays tax-free: meal value + top-up."""
        return self.meal_value.amount + self.meal_top_up.amount

    def rows(self) -> list[tuple[str, Value]]:
        """(name, value) of every number, for the docs and the payroll page."""
        return [
            ("non_cash_limit", self.non_cash_limit),
            ("meal_value", self.meal_value),
            ("meal_top_up", self.meal_top_up),
            ("meals_per_month", self.meals_per_month),
            ("internet_limit", self.internet_limit),
            ("internet_flat_rate", self.internet_flat_rate),
        ]


_NON_CASH = "§ 8 Abs. 2 Satz 11 EStG"
_NON_CASH_NOTE = _("Freigrenze for non-cash benefits: one cent over and all of it is taxable")
_MEAL_VALUE = "§ 2 Abs. 1 Satz 2 Nr. 2, Abs. 6 Satz 1 SvEV"
_TOP_UP = "R 8.1 Abs. 7 Nr. 4 Buchst. a LStR"
_TOP_UP_NOTE = _("tax-free per meal: the meal value plus at most 3.10 €")
_MEALS = "R 8.1 Abs. 7 Nr. 4 LStR; SPEC §6a"
_MEALS_NOTE = _("one meal per working day; the portal counts at most 15 a month")
_INTERNET = "R 40.2 Abs. 5 Satz 7 LStR"
_INTERNET_NOTE = _("internet allowance without proof of the costs, per month")
_FLAT = "§ 40 Abs. 2 Satz 1 Nr. 5 EStG"
_FLAT_NOTE = _("flat-rate wage tax on the internet allowance, paid by the employer")
# The job ticket has no amount limit; its rule is named in the docs and on the lines it marks.
JOB_TICKET_SOURCE = "§ 3 Nr. 15 EStG; § 41b Abs. 1 Satz 2 Nr. 6 EStG"

TABLES: dict[int, YearValues] = {
    2025: YearValues(
        year=2025,
        non_cash_limit=Value(Decimal("50.00"), _NON_CASH, _NON_CASH_NOTE),
        # Lunch: 132 € a month (SvEV as amended for 2025), a thirtieth per day = 4.40 €.
        meal_value=Value(Decimal("4.40"), _MEAL_VALUE, _("lunch: 132 € a month ÷ 30")),
        meal_top_up=Value(Decimal("3.10"), _TOP_UP, _TOP_UP_NOTE),
        meals_per_month=Value(Decimal("15"), _MEALS, _MEALS_NOTE),
        internet_limit=Value(Decimal("50.00"), _INTERNET, _INTERNET_NOTE),
        internet_flat_rate=Value(Decimal("0.25"), _FLAT, _FLAT_NOTE),
    ),
    2026: YearValues(
        year=2026,
        non_cash_limit=Value(Decimal("50.00"), _NON_CASH, _NON_CASH_NOTE),
        # Lunch: 137 € a month (SvEV as amended for 2026), a thirtieth per day = 4.5667 → 4.57 €.
        meal_value=Value(Decimal("4.57"), _MEAL_VALUE, _("lunch: 137 € a month ÷ 30")),
        meal_top_up=Value(Decimal("3.10"), _TOP_UP, _TOP_UP_NOTE),
        meals_per_month=Value(Decimal("15"), _MEALS, _MEALS_NOTE),
        internet_limit=Value(Decimal("50.00"), _INTERNET, _INTERNET_NOTE),
        internet_flat_rate=Value(Decimal("0.25"), _FLAT, _FLAT_NOTE),
    ),
}


class NoStatutoryValues(LookupError):
    """The payroll month's year has no table of statutory values yet."""

    def __init__(self, year: int) -> None:
        super().__init__(year)
        self.year = year


def values_for(month: Month) -> YearValues:
    """The statutory values of the payroll month's year; `NoStatutoryValues` when not filled in."""
    try:
        return TABLES[month.year]
    except KeyError:
        raise NoStatutoryValues(month.year) from None
