"""Step 4 of a run: apply — write a plan, chunk by chunk, in one transaction.

Every change of an employee goes through `employees.services` (which writes the audit log);
this module only groups the plan's actions into the bulk calls those services offer, and
writes one `SyncEvent` per action (`record.py`). Unchanged employees are not written.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.utils import timezone

from benefitsync.employees import services as employee_services
from benefitsync.employees.models import Employee
from benefitsync.integrations.personio import reconcile as rc
from benefitsync.integrations.personio.models import (
    PersonioIntegration,
    RunStatus,
    SyncEvent,
    SyncRun,
)
from benefitsync.integrations.personio.sync.record import events
from benefitsync.invitations import services as invitations
from benefitsync.lib.db import fast_insert

if TYPE_CHECKING:
    from benefitsync.companies.models import Company


class AlreadyRunning(Exception):
    """A sync of this company is queued or running; the existing run is attached."""

    def __init__(self, run: SyncRun | None) -> None:
        super().__init__("A synchronization of this company is already running.")
        self.run = run


class RunLost(Exception):
    """Our run was reaped (we were too slow); stop without writing."""


def apply(
    run: SyncRun,
    chunks: Iterable[Sequence[rc.Action]],
    tally: rc.Tally,
    *,
    attributes: frozenset[str] | None,
    final_status: str | None = None,
    partial: Collection[int] | None = None,
) -> SyncRun:
    """Write a plan (its actions in chunks, `tally` its counts) in one transaction; unchanged
    employees are not written. A run that no longer owns its company writes nothing
    (`RunLost`). A `partial` run names the Personio IDs it read: only their earlier record
    problems are solved (a complete run solves everybody's it did not meet again)."""
    company = run.company
    with transaction.atomic():
        if final_status is None and not (
            SyncRun.objects.select_for_update().filter(pk=run.pk, status=RunStatus.RUNNING).exists()
        ):
            # Reaped as interrupted while we worked (the lease ran out): a newer run owns the
            # company now, so this one must not write.
            raise RunLost()
        invited = written = 0
        problems: dict[int, dict[str, Any]] = {}
        for actions in chunks:
            chunk_invited, chunk_written = _write(run, company, actions, problems)
            invited += chunk_invited
            written += chunk_written
        employee_services.sync_set_problems(
            company,
            problems,
            complete=final_status is None and partial is None,
            read=partial or (),
        )
        counts = tally.counts()
        counts["invited"] = invited
        counts["employees_written"] = written
        run.counts = counts
        run.status = final_status or (
            RunStatus.PARTLY_FAILED if counts["errors"] else RunStatus.SUCCEEDED
        )
        run.finished_at = timezone.now()
        if attributes is not None:
            PersonioIntegration.objects.filter(company=company).update(
                last_attributes=sorted(attributes)
            )
        run.save()
    return run


def _invite(employee_ids: list[int]) -> int:
    """Queue the first invitation of each new employee. Inside the apply transaction: the
    outbox row commits with the employee or not at all, and its unique key makes a retried run
    send nothing twice; the e-mail itself leaves after commit."""
    if not employee_ids:
        return 0
    employees = Employee.objects.select_related("company").in_bulk(employee_ids)
    for employee in employees.values():
        invitations.do_invite(employee, acting_user=None)
    return len(employees)


def _of(actions: Sequence[rc.Action], kind: type[Any]) -> list[Any]:
    return [a for a in actions if isinstance(a, kind)]


_DATE_FIELDS = frozenset({"hire_date", "leaving_date"})


def _write(
    run: SyncRun,
    company: Company,
    actions: Sequence[rc.Action],
    problems: dict[int, dict[str, Any]],
) -> tuple[int, int]:
    """Write one chunk of a plan; returns (invitations queued, employee rows written).

    An employee's actions may fall into two chunks (a chunk ends after any action), so nothing
    here assumes that a `Create` and its `Invite` arrive together: employees are found by their
    Personio ID in the company, which the same transaction has written.
    """
    created = employee_services.sync_create_employees(
        company,
        [
            {
                "personio_id": c.personio_id,
                "status": c.status,
                "last_working_month": c.last_working_month,
                **{
                    k: ("" if v is None and k not in _DATE_FIELDS else v)
                    for k, v in c.fields.items()
                },
            }
            for c in _of(actions, rc.Create)
        ],
    )
    touched = employee_services.sync_update_employees(
        company,
        {
            u.employee_id: (
                {
                    name: ("" if new is None and name not in _DATE_FIELDS else new)
                    for name, (_old, new) in u.changes.items()
                },
                u.personio_id if u.link else None,
            )
            for u in _of(actions, rc.Update)
        },
    )
    employee_services.sync_mark_leaving(
        company,
        {a.employee_id: a.last_working_month for a in _of(actions, rc.MarkLeaving)}
        | {a.employee_id: a.last_working_month for a in _of(actions, rc.MoveLeaving)},
    )
    employee_services.sync_undo_leaving(
        company, [a.employee_id for a in _of(actions, rc.UndoLeaving)]
    )
    employee_services.sync_flag_missing(
        company, [a.employee_id for a in _of(actions, rc.FlagMissing)], missing=True
    )
    employee_services.sync_flag_missing(
        company, [a.employee_id for a in _of(actions, rc.Unflag)], missing=False
    )
    # Employees this chunk names only by Personio ID: invitations, and skipped records of
    # people the portal has (a bad record of a known employee is that employee's problem).
    named = [
        a.personio_id
        for a in actions
        if isinstance(a, rc.Invite) or (isinstance(a, rc.Skip) and a.error)
    ]
    by_pid = created | employee_services.ids_by_personio_id(
        company, [pid for pid in named if pid is not None and pid not in created]
    )
    invites = [by_pid[a.personio_id] for a in _of(actions, rc.Invite) if a.personio_id in by_pid]
    invited = _invite(invites)
    for skip in _of(actions, rc.Skip):
        if skip.error and skip.personio_id in by_pid:
            problems[by_pid[skip.personio_id]] = {
                "code": skip.code,
                "params": dict(skip.params),
                "run": run.pk,
            }
    fast_insert(SyncEvent, events(run, actions, by_pid))
    written = (
        touched
        | set(created.values())
        | {a.employee_id for a in actions if hasattr(a, "employee_id")}
    )
    return invited, len(written)
