"""Step 5 of a run: record — what each action did, as a `SyncEvent` a person can read later.

An event stores a code and parameters (`texts.py`), not a sentence: the run is read later, by
someone whose language the worker does not know. The field changes (old → new) are values.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from benefitsync.integrations.personio import reconcile as rc
from benefitsync.integrations.personio.models import SyncRun
from benefitsync.integrations.personio.texts import Note
from benefitsync.lib.months import Month


def events(
    run: SyncRun, actions: Sequence[rc.Action], by_pid: Mapping[int, int]
) -> Iterator[dict[str, Any]]:
    """One SyncEvent row (by attname, for `fast_insert`) per action. `by_pid` finds the
    employees that actions name only by Personio ID (creations, invitations, skips)."""
    for action in actions:
        pid = getattr(action, "personio_id", None)
        employee_id = getattr(action, "employee_id", None)
        if employee_id is None and pid is not None:
            employee_id = by_pid.get(pid)
        kind, changes, note, error = describe(action)
        params = dict(note.params) if note else {}
        if isinstance(action, rc.Skip) and action.name and employee_id is None:
            params["name"] = action.name
        yield {
            "run_id": run.pk,
            "company_id": run.company_id,
            "employee_id": employee_id,
            "personio_id": pid,
            "action": kind,
            "changes": changes,
            "message": "",
            "code": note.code if note else "",
            "params": params,
            "error": error,
        }


def describe(action: rc.Action) -> tuple[str, dict[str, Any], Note | None, bool]:
    """(event kind, field changes old → new, what to tell a person, is it an error)."""
    match action:
        case rc.Create(fields=fields, status=status, last_working_month=month):
            changes = {k: [None, _plain(v)] for k, v in fields.items()}
            note = Note("created_leaving", {"month": str(month)}) if month else None
            return "create", changes, note if status != rc.ACTIVE else None, False
        case rc.Update(changes=changes, link=link):
            return (
                "update",
                {k: [_plain(o), _plain(n)] for k, (o, n) in changes.items()},
                Note("linked") if link else None,
                False,
            )
        case rc.MarkLeaving(last_working_month=month):
            return "mark_leaving", {"last_working_month": [None, str(month)]}, None, False
        case rc.MoveLeaving(old_month=old, last_working_month=new):
            return "move_leaving", {"last_working_month": [_plain(old), str(new)]}, None, False
        case rc.UndoLeaving():
            return "undo_leaving", {}, Note("leaving_removed"), False
        case rc.FlagMissing(reason=reason):
            return "flag_missing", {}, Note(reason), False
        case rc.Unflag():
            return "unflag", {}, Note("delivered_again"), False
        case rc.Skip(code=code, error=error, params=params):
            return "skip", {}, Note(code, dict(params)), error
        case rc.Invite():
            return "invite", {}, Note("invitation_queued"), False
    raise TypeError(action)


def _plain(value: Any) -> Any:
    if isinstance(value, Month):
        return str(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    return value
