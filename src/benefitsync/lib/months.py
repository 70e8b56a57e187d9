"""Calendar months as values, and 'today' in a company's time zone.

The portal's leaving rules speak in months (SPEC §4). A month is stored in the database as the
date of its first day; this module is the one place that converts.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo


@dataclass(frozen=True, order=True, slots=True)
class Month:
    year: int
    month: int

    def __post_init__(self) -> None:
        if not 1 <= self.month <= 12:
            raise ValueError(f"month must be 1..12, got {self.month}")

    @classmethod
    def of(cls, day: dt.date) -> Month:
        return cls(day.year, day.month)

    @classmethod
    def parse(cls, text: str) -> Month:
        """Parse 'YYYY-MM' (also accepts a full ISO date and takes its month)."""
        parts = text.strip().split("-")
        if len(parts) < 2:
            raise ValueError(f"not a month: {text!r}")
        return cls(int(parts[0]), int(parts[1]))

    @property
    def first_day(self) -> dt.date:
        return dt.date(self.year, self.month, 1)

    @property
    def last_day(self) -> dt.date:
        return dt.date(self.year, self.month, calendar.monthrange(self.year, self.month)[1])

    def next(self) -> Month:
        return Month(self.year + 1, 1) if self.month == 12 else Month(self.year, self.month + 1)

    def previous(self) -> Month:
        return Month(self.year - 1, 12) if self.month == 1 else Month(self.year, self.month - 1)

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"


# The months a person or a client may enter: benefits, vouchers and receipts of this century.
# Outside it, a typing slip (`0000-05`, `9999-12`) would reach the rules, or crash on a date
# before year 1.
FIRST_ENTERED = Month(2000, 1)
LAST_ENTERED = Month(2099, 12)
# The same range as a pattern, for the JSON API's schema (validated by `parse_entered` anyway).
MONTH_PATTERN = r"^20\d{2}-(0[1-9]|1[0-2])$"
_SHAPE = re.compile(r"\d{4}-\d{2}")


class MonthOutOfRange(ValueError):
    """A well-formed month outside FIRST_ENTERED..LAST_ENTERED."""


def parse_entered(text: str) -> Month:
    """The one validator of a month someone entered (every form and the JSON API): exactly
    'YYYY-MM', within FIRST_ENTERED..LAST_ENTERED. Raises ValueError (MonthOutOfRange for a
    well-formed month outside the range)."""
    text = text.strip()
    if not _SHAPE.fullmatch(text):
        raise ValueError(f"not a month as YYYY-MM: {text!r}")
    month = Month(int(text[:4]), int(text[5:]))  # ValueError for month 00 or 13
    if not FIRST_ENTERED <= month <= LAST_ENTERED:
        raise MonthOutOfRange(f"{month} is outside {FIRST_ENTERED}..{LAST_ENTERED}")
    return month


def month_label(month: Month) -> str:
    """The month as people read it in the active language: "December 2026" / "Dezember 2026".

    `str(month)` stays "2026-12": that is the form for URLs, forms, logs and the audit log.
    """
    from django.utils.formats import date_format

    return date_format(month.first_day, "YEAR_MONTH_FORMAT")


def month_or_none(day: dt.date | None) -> Month | None:
    return None if day is None else Month.of(day)


def local_today(time_zone: str, now: dt.datetime | None = None) -> dt.date:
    """Today's date in the given IANA time zone (a company's months turn over at its midnight)."""
    moment = now if now is not None else dt.datetime.now(dt.UTC)
    return moment.astimezone(ZoneInfo(time_zone)).date()
