"""Template helpers of the Personio integration: run badges and the employee sync timeline.

The employee page shows what syncs did to one employee with
`{% load personio_tags %}{% sync_timeline employee %}`.
"""

from __future__ import annotations

from typing import Any

from django import template
from django.core.exceptions import FieldDoesNotExist

from benefitsync.employees.labels import value_label
from benefitsync.employees.models import Employee
from benefitsync.integrations.personio.models import RunStatus, SyncEvent
from benefitsync.integrations.personio.texts import render

register = template.Library()

TIMELINE_LIMIT = 50
_BADGES: dict[str, str] = {
    RunStatus.SUCCEEDED: "active",
    RunStatus.APPLIED: "active",
    RunStatus.PARTLY_FAILED: "leaving",
    RunStatus.HELD: "leaving",
    RunStatus.FAILED: "missing",
    RunStatus.INTERRUPTED: "missing",
}


@register.filter
def run_badge(status: str) -> str:
    """The badge CSS class for a run status (green ok, amber attention, red failed, grey else)."""
    return "badge-" + _BADGES.get(str(status), "left")


@register.filter
def note(data: Any) -> str:
    """A stored `texts.Note` (or a legacy text) as a sentence in the reader's language."""
    return render(data)


@register.filter
def as_pairs(changes: dict[str, Any] | None) -> list[tuple[str, Any, Any]]:
    """A SyncEvent's `{field: [old, new]}` as (field label, old, new) rows, the label in the
    user's language (the employee field's verbose name), Personio's values translated."""
    return [
        (field_label(field), value_label(field, pair[0]), value_label(field, pair[1]))
        for field, pair in (changes or {}).items()
    ]


def field_label(name: str) -> str:
    try:
        field = Employee._meta.get_field(name)
    except FieldDoesNotExist:
        return name
    return str(getattr(field, "verbose_name", name))


@register.inclusion_tag("personio/_employee_timeline.html")
def sync_timeline(employee: Employee) -> dict[str, Any]:
    events = list(
        SyncEvent.objects.filter(employee=employee, company_id=employee.company_id)
        .select_related("run")
        .order_by("-run__queued_at", "-id")[:TIMELINE_LIMIT]
    )
    return {"events": events, "employee": employee}
