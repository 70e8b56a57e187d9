"""Template filters every template has without `{% load %}` (TEMPLATES OPTIONS "builtins").

`month` renders a Month or the first day of a month as "December 2026" / "Dezember 2026", so no
template shows a month as "2026-12" on one line and "Dec. 2026" on the next.
"""

from __future__ import annotations

import datetime as dt

from django import template

from benefitsync.lib.months import Month, month_label

register = template.Library()


@register.filter(name="month")
def month_filter(value: Month | dt.date | str | None) -> str:
    """A month for people; empty input gives ""."""
    if value is None or value == "":
        return ""
    if isinstance(value, Month):
        return month_label(value)
    if isinstance(value, dt.date):
        return month_label(Month.of(value))
    try:
        return month_label(Month.parse(str(value)))
    except ValueError:
        return str(value)
