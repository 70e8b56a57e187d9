"""The statutory values the month's figures use, one table per year, each number with its source.

The payroll month chooses the year (`values_for(month)`). A year without a table is refused, not
guessed: the values change every year (the meal value with the Sozialversicherungsentgelt-
verordnung), and a file built on last year's numbers would be wrong without anyone noticing.
Adding a year is adding one `YearValues` to `TABLES`, with the source of each number.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from benefitsync.lib.months import Month


@dataclass(frozen=True)
class Value:
    """One statutory number and the rule it comes from."""

    amount: Decimal
    source: str


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


_NON_CASH = "§ 8 Abs. 2 Satz 11 EStG (Sachbezugsfreigrenze, 50 € since 2022)"
_TOP_UP = "R 8.1 Abs. 7 Nr. 4 Buchst. a LStR (meal value + up to 3.10 € per meal)"
_MEALS = (
    "SPEC §6a: at most 15 meals a month (the portal's cap; the law allows one meal per working "
    "day, R 8.1 Abs. 7 Nr. 4 LStR)"
)
_INTERNET = "R 40.2 Abs. 5 Satz 7 LStR (up to 50 € a month without proof of the costs)"
_FLAT = "§ 40 Abs. 2 Satz 1 Nr. 5 EStG (flat-rate wage tax 25 % on internet allowances)"
# The job ticket has no amount limit; its rule is named on the lines it marks.
JOB_TICKET_SOURCE = (
    "§ 3 Nr. 15 EStG (tax-free job ticket; certified on the wage tax statement, "
    "§ 41b Abs. 1 Satz 2 Nr. 6 EStG)"
)

TABLES: dict[int, YearValues] = {
    2025: YearValues(
        year=2025,
        non_cash_limit=Value(Decimal("50.00"), _NON_CASH),
        meal_value=Value(
            Decimal("4.40"), "§ 2 Abs. 1 Satz 2 Nr. 2 SvEV, as of 1 January 2025 (lunch)"
        ),
        meal_top_up=Value(Decimal("3.10"), _TOP_UP),
        meals_per_month=Value(Decimal("15"), _MEALS),
        internet_limit=Value(Decimal("50.00"), _INTERNET),
        internet_flat_rate=Value(Decimal("0.25"), _FLAT),
    ),
    2026: YearValues(
        year=2026,
        non_cash_limit=Value(Decimal("50.00"), _NON_CASH),
        meal_value=Value(
            Decimal("4.57"), "§ 2 Abs. 1 Satz 2 Nr. 2 SvEV, as of 1 January 2026 (lunch)"
        ),
        meal_top_up=Value(Decimal("3.10"), _TOP_UP),
        meals_per_month=Value(Decimal("15"), _MEALS),
        internet_limit=Value(Decimal("50.00"), _INTERNET),
        internet_flat_rate=Value(Decimal("0.25"), _FLAT),
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
