"""Template helpers of the Personio integration: run badges and the employee sync timeline.

The employee page shows what syncs did to one employee with
`{% load personio_tags %}{% sync_timeline employee %}`.
"""

from __future__ import annotations

from typing import Any

from django import template

from benefitsync.employees.models import Employee
from benefitsync.integrations.personio.models import RunStatus, SyncEvent

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
def as_pairs(changes: dict[str, Any] | None) -> list[tuple[str, Any, Any]]:
    """A SyncEvent's `{field: [old, new]}` as (field, old, new) rows."""
    return [(field, pair[0], pair[1]) for field, pair in (changes or {}).items()]


@register.inclusion_tag("personio/_employee_timeline.html")
def sync_timeline(employee: Employee) -> dict[str, Any]:
    events = list(
        SyncEvent.objects.filter(employee=employee, company_id=employee.company_id)
        .select_related("run")
        .order_by("-run__queued_at", "-id")[:TIMELINE_LIMIT]
    )
    return {"events": events, "employee": employee}
