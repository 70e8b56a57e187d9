"""Step 3 of a run: guard — a plan that looks wrong is held for an HR admin, not applied.

The rules are pure (`rc.hold_reasons`, SPEC §7). Here: what they are asked with, how a held
plan is kept on its run (JSON through pydantic), and the one rule for held runs:

- **The newest plan wins.** A company has at most one held run. When a later run finishes —
  applied or held again — an older held run is discarded as replaced (its plan was made from an
  older state of Personio); "Synchronize now" is never refused because a decision is waiting.
- **A held plan is applied only under what it was made with.** Confirming re-checks every action
  against the portal as it is now, and refuses a plan made under another company filter,
  credential or auto-invite choice (`PlanOutdated`): synchronize again instead.
- A discarded or replaced run applied nothing; its counts are what it *would* have done.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable
from typing import TYPE_CHECKING, Annotated, Any, Literal

from django.db import transaction
from pydantic import BaseModel, BeforeValidator, PlainSerializer

from benefitsync.audit import services as audit
from benefitsync.integrations.personio import reconcile as rc
from benefitsync.integrations.personio.models import PersonioIntegration, RunStatus, SyncRun
from benefitsync.integrations.personio.sync.apply import AlreadyRunning, apply
from benefitsync.integrations.personio.sync.portal import snapshot
from benefitsync.integrations.personio.sync.read import Reading
from benefitsync.integrations.personio.texts import Note
from benefitsync.lib.months import Month

if TYPE_CHECKING:
    from benefitsync.accounts.models import User


class PlanOutdated(ValueError):
    """The held plan was made under another filter, credential or auto-invite choice."""


def hold_reasons_for(
    integration: PersonioIntegration,
    reconciler: rc.Reconciler,
    reading: Reading,
    *,
    partial: bool = False,
) -> list[Note]:
    previous = integration.last_attributes
    return rc.hold_reasons(
        reconciler.tally,
        active_count=reconciler.active_count,
        previous_attributes=None if previous is None else frozenset(previous),
        delivered_attributes=frozenset(reading.delivered),
        partial=partial,
    )


def basis_of(integration: PersonioIntegration) -> str:
    """A fingerprint of what a plan depends on besides Personio's data: the company filter, the
    credential and the auto-invite choice. No secret goes in (the client ID is not secret)."""
    basis = {
        "filter": [
            sorted(integration.filter_email_domains or []),
            sorted(integration.filter_company_names or []),
            integration.filter_opt_in,
        ],
        "client_id": integration.client_id,
        "base_url": integration.base_url,
        "auto_invite": integration.auto_invite,
        "connected_at": integration.connected_at.isoformat() if integration.connected_at else "",
    }
    return hashlib.sha256(json.dumps(basis, sort_keys=True).encode()).hexdigest()[:32]


def hold(
    run: SyncRun, integration: PersonioIntegration, plan: rc.Plan, reasons: list[Note]
) -> SyncRun:
    """Keep the plan on the run for review instead of applying it."""
    if not run.finish(
        RunStatus.HELD,
        hold_reasons=[r.as_json() for r in reasons],
        plan=plan_to_json(plan, basis_of(integration)),
        counts=plan.counts(),
        requests=run.requests,
        rate_limited=run.rate_limited,
        attributes=run.attributes,
    ):
        return SyncRun.objects.get(pk=run.pk)
    supersede_older_held(run)
    return run


def supersede_older_held(run: SyncRun) -> int:
    """Discard the company's held runs older than `run`: the newest plan of everyone wins. A
    partial run (delta, webhook) read only some people, so it replaces no held plan."""
    if not run.complete:
        return 0
    return SyncRun.objects.filter(
        company_id=run.company_id, status=RunStatus.HELD, pk__lt=run.pk
    ).update(
        status=RunStatus.DISCARDED,
        note=Note("discarded_superseded", {"run": run.pk}).as_json(),
    )


def _actor(user: User | None) -> Any:
    """Who decided, as a note parameter: the user, or "the system" in the reader's language."""
    return str(user) if user is not None else Note("system").as_json()


def confirm_held(run: SyncRun, *, acting_user: User | None) -> SyncRun:
    """Apply a held run's kept plan, re-checked against the current state: actions whose
    employee changed since the preview are dropped and reported as skips. Raises ValueError
    when the run is no longer held, `PlanOutdated` when it was made under another basis."""
    with transaction.atomic():
        run = SyncRun.objects.select_for_update().select_related("company").get(pk=run.pk)
        if run.status != RunStatus.HELD or run.plan is None:
            raise ValueError("Only a held run can be confirmed.")
        integration = PersonioIntegration.objects.select_related("company").get(company=run.company)
        kept = HeldPlan.model_validate(run.plan)
        if kept.basis != basis_of(integration):
            raise PlanOutdated(
                "The company filter, the credentials or the invitation choice changed since "
                "this plan was made."
            )
        running = SyncRun.objects.in_progress(run.company_id)
        if running is not None:
            raise AlreadyRunning(running)
        plan = recheck(kept.to_plan(), snapshot(run.company))
        apply(
            run,
            [plan.actions],
            plan.tally(),
            attributes=frozenset(run.attributes or []),
            final_status=RunStatus.APPLIED,
        )
        run.note = Note("confirmed_by", {"user": _actor(acting_user)}).as_json()
        run.save(update_fields=["note"])
        audit.record(
            "personio.hold_confirm", company=run.company, actor=acting_user, target=f"run:{run.pk}"
        )
    return run


def discard_held(run: SyncRun, *, acting_user: User | None) -> SyncRun:
    updated = SyncRun.objects.filter(pk=run.pk, status=RunStatus.HELD).update(
        status=RunStatus.DISCARDED,
        note=Note("discarded_by", {"user": _actor(acting_user)}).as_json(),
    )
    if not updated:
        raise ValueError("Only a held run can be discarded.")
    run.refresh_from_db()
    audit.record(
        "personio.hold_discard", company=run.company, actor=acting_user, target=f"run:{run.pk}"
    )
    return run


def recheck(plan: rc.Plan, local: Iterable[rc.LocalEmployee]) -> rc.Plan:
    """Keep the actions whose preconditions still hold in the current state."""
    by_id = {e.id: e for e in local}
    pids = {e.personio_id for e in by_id.values() if e.personio_id is not None}
    emails = {e.email for e in by_id.values() if e.email}
    kept: list[rc.Action] = []
    for action in plan.actions:
        stale = False
        match action:
            case rc.Create(personio_id=pid, fields=fields):
                stale = pid in pids or rc.email_key(fields.get("email")) in emails
            case rc.Update(employee_id=eid, changes=changes):
                e = by_id.get(eid)
                stale = e is None or any(
                    rc._norm(e.fields.get(k)) != rc._norm(old) for k, (old, _new) in changes.items()
                )
            case rc.MarkLeaving(employee_id=eid):
                stale = eid not in by_id or by_id[eid].status != rc.ACTIVE
            case rc.MoveLeaving(employee_id=eid, old_month=old):
                e = by_id.get(eid)
                stale = e is None or e.status != rc.LEAVING or e.last_working_month != old
            case rc.UndoLeaving(employee_id=eid):
                stale = eid not in by_id or by_id[eid].status != rc.LEAVING
            case rc.FlagMissing(employee_id=eid) | rc.Unflag(employee_id=eid):
                stale = eid not in by_id
        if stale:
            kept.append(rc.Skip(getattr(action, "personio_id", None), "changed_since_preview"))
        else:
            kept.append(action)
    return rc.Plan(kept, plan.unchanged, plan.filtered_out, plan.remote_total)


# --- a held plan as JSON ---------------------------------------------------------------------
# pydantic does the (de)serialisation; the only types JSON lacks are months and dates. Field
# values are tagged ({"$date": …}, {"$month": …}) because a plain ISO string in `fields` could
# also be a name: the tag keeps "2026-01-01" the text apart from 2026-01-01 the date.


def _tag(value: Any) -> Any:
    if isinstance(value, Month):
        return {"$month": str(value)}
    if isinstance(value, dt.date):
        return {"$date": value.isoformat()}
    if isinstance(value, tuple | list):
        return [_tag(v) for v in value]
    if isinstance(value, dict):
        return {k: _tag(v) for k, v in value.items()}
    return value


def _untag(value: Any) -> Any:
    if isinstance(value, dict):
        if "$month" in value:
            return Month.parse(value["$month"])
        if "$date" in value:
            return dt.date.fromisoformat(value["$date"])
        return {k: _untag(v) for k, v in value.items()}
    if isinstance(value, list):
        return tuple(_untag(v) for v in value)
    return value


Tagged = Annotated[Any, BeforeValidator(_untag), PlainSerializer(_tag)]
_KINDS: dict[str, type[Any]] = {
    cls.__name__: cls
    for cls in (
        rc.Create,
        rc.Update,
        rc.MarkLeaving,
        rc.MoveLeaving,
        rc.UndoLeaving,
        rc.FlagMissing,
        rc.Unflag,
        rc.Skip,
        rc.Invite,
    )
}


class HeldPlan(BaseModel):
    """The JSON a held run keeps: the actions as {"kind": class name, field: value}, the counts
    that are not actions, and the basis the plan was made under."""

    version: Literal[1] = 1
    actions: list[dict[str, Tagged]]
    unchanged: int
    filtered_out: int
    remote_total: int
    basis: str = ""

    @classmethod
    def of(cls, plan: rc.Plan, basis: str) -> HeldPlan:
        return cls(
            actions=[
                {"kind": type(a).__name__} | {name: getattr(a, name) for name in a.__slots__}
                for a in plan.actions
            ],
            unchanged=plan.unchanged,
            filtered_out=plan.filtered_out,
            remote_total=plan.remote_total,
            basis=basis,
        )

    def to_plan(self) -> rc.Plan:
        actions = []
        for item in self.actions:
            values = {k: (dict(v) if isinstance(v, dict) else v) for k, v in item.items()}
            kind = _KINDS[str(values.pop("kind"))]
            actions.append(kind(**values))
        return rc.Plan(actions, self.unchanged, self.filtered_out, self.remote_total)


def plan_to_json(plan: rc.Plan, basis: str = "") -> dict[str, Any]:
    return HeldPlan.of(plan, basis).model_dump(mode="json")


def plan_from_json(data: dict[str, Any]) -> rc.Plan:
    return HeldPlan.model_validate(data).to_plan()
