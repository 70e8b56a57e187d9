"""Calendar months as values, and 'today' in a company's time zone.

The portal's leaving rules speak in months (SPEC §4). A month is stored in the database as the
date of its first day; this module is the one place that converts.
"""

from __future__ import annotations

import calendar
import datetime as dt
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
