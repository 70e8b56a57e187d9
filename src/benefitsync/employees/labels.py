"""Personio's raw values (status, employment type, gender) as people read them, translated.

The database keeps what Personio sends ("active", "internal", "male"); pages and change lists show
these labels instead, so a German page never says "internal" or "male".
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

VALUE_LABELS: dict[str, dict[str, Any]] = {
    "personio_status": {
        "active": pgettext_lazy("personio status", "active"),
        "onboarding": pgettext_lazy("personio status", "onboarding"),
        "leave": pgettext_lazy("personio status", "on leave"),
        "inactive": pgettext_lazy("personio status", "inactive"),
    },
    "employment_type": {"internal": _("Internal"), "external": _("External")},
    "gender": {
        "male": pgettext_lazy("gender", "male"),
        "female": pgettext_lazy("gender", "female"),
        "diverse": pgettext_lazy("gender", "diverse"),
    },
}


def value_label(field: str, value: Any) -> Any:
    """The translated label of a Personio value of `field`; other values unchanged."""
    if isinstance(value, str):
        label = VALUE_LABELS.get(field, {}).get(value.strip().lower())
        if label is not None:
            return str(label)
    return value
