"""Form fields shared by every app's forms."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from benefitsync.lib.months import (
    FIRST_ENTERED,
    LAST_ENTERED,
    Month,
    MonthOutOfRange,
    parse_entered,
)


class MonthInput(forms.TextInput):
    input_type = "month"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        # The browser's month picker offers the same range the validator accepts.
        super().__init__({"min": str(FIRST_ENTERED), "max": str(LAST_ENTERED), **(attrs or {})})

    def format_value(self, value: Any) -> str | None:
        if isinstance(value, Month):
            return str(value)
        return super().format_value(value)


class MonthField(forms.Field):
    """The one month field: 'YYYY-MM' (what browsers send for `<input type=month>`) → Month,
    validated by `lib.months.parse_entered`."""

    widget = MonthInput
    default_error_messages = {
        "invalid": _("Enter a month as YYYY-MM."),
        "out_of_range": _("Enter a month from %(first)s to %(last)s."),
    }

    def to_python(self, value: Any) -> Month | None:
        if value in self.empty_values:
            return None
        if isinstance(value, Month):
            return value
        try:
            return parse_entered(str(value))
        except MonthOutOfRange:
            raise forms.ValidationError(
                self.error_messages["out_of_range"],
                code="out_of_range",
                params={"first": str(FIRST_ENTERED), "last": str(LAST_ENTERED)},
            ) from None
        except ValueError:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid") from None
