"""A run from request to outcome: queue → claim → read → plan → guard → apply → record.

- One run per company at a time: the `one_sync_in_progress_per_company` partial unique index
  admits one queued-or-running run, across processes and machines. A worker that dies stops
  heartbeating; `SyncRun.objects.reap_stale` marks its run interrupted after the lease.
- Applied fully or not at all: the whole plan is written in one transaction (`apply.py`). No
  call to Personio and no e-mail happens while a transaction is open.
- Every run ends with an outcome on its record: succeeded, partly failed, held, or failed with a
  message — whatever went wrong, Personio or not; it never stays "running".
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from huey.contrib.djhuey import db_task

from benefitsync.audit import services as audit
from benefitsync.integrations.personio import health
from benefitsync.integrations.personio.errors import AuthenticationError, PersonioError
from benefitsync.integrations.personio.models import (
    PersonioIntegration,
    RunKind,
    RunStatus,
    SyncRun,
    Trigger,
)
from benefitsync.integrations.personio.sync.apply import AlreadyRunning, RunLost, apply
from benefitsync.integrations.personio.sync.guard import hold, supersede_older_held
from benefitsync.integrations.personio.sync.plan import EVERYONE, Scope, plan_for
from benefitsync.integrations.personio.sync.read import NotConnected
from benefitsync.integrations.personio.texts import Note
from benefitsync.lib import crypto

if TYPE_CHECKING:
    from benefitsync.accounts.models import User
    from benefitsync.companies.models import Company

log = logging.getLogger(__name__)

# A delta run asks for what changed since the last run began, less this much: Personio's clock
# and ours may differ, and a change saved while that run read is not missed. Reading someone
# twice changes nothing (they are unchanged the second time).
DELTA_OVERLAP = dt.timedelta(minutes=10)


def heartbeat_seconds() -> float:
    """How often a running sync renews its lease and reports progress: every second, and well
    inside SYNC_LEASE_SECONDS."""
    return min(1.0, settings.SYNC_LEASE_SECONDS / 3)


def request_sync(
    company: Company,
    trigger: str,
    *,
    acting_user: User | None = None,
    enqueue: bool = True,
    kind: str | None = None,
    targets: Iterable[int] | None = None,
) -> SyncRun:
    """Queue a sync of `company` (raises AlreadyRunning when one is queued or running).

    `kind` is what it reads (`RunKind`; default: everyone — "manual" when an HR admin asked);
    a webhook run reads the Personio IDs `targets`. The run row is the claim: the partial
    unique index lets exactly one in-progress run exist. The job is enqueued after commit, so a
    worker never looks for a row that is not there yet. With `enqueue=False` the caller
    executes the run itself (`execute_run`).
    """
    if kind is None:
        kind = RunKind.MANUAL if trigger == Trigger.MANUAL else RunKind.FULL
    if (kind == RunKind.WEBHOOK) != (targets is not None):
        raise ValueError("a webhook run, and only a webhook run, names its targets")
    SyncRun.objects.reap_stale(company_id=company.pk)
    try:
        with transaction.atomic():
            run = SyncRun.objects.create(
                company=company,
                trigger=trigger,
                kind=kind,
                targets=None if targets is None else sorted(set(targets)),
                requested_by=acting_user,
            )
    except IntegrityError:
        raise AlreadyRunning(SyncRun.objects.in_progress(company.pk)) from None
    if acting_user is not None:
        audit.record(
            "personio.sync_now", company=company, actor=acting_user, target=f"run:{run.pk}"
        )
    if enqueue:
        transaction.on_commit(lambda: run_sync(run.pk))
    return run


def in_progress(company: Company) -> SyncRun | None:
    return SyncRun.objects.in_progress(company.pk)


@db_task(priority=10)
def run_sync(run_id: int) -> None:
    """The worker's job: carry out one queued sync run."""
    execute_run(run_id)


def execute_run(run_id: int) -> SyncRun:
    """Carry out a queued run (called by the worker, or by the command line in its own
    process). Never raises: the outcome is recorded on the run."""
    if not SyncRun.objects.claim(run_id):
        return SyncRun.objects.get(pk=run_id)
    run = SyncRun.objects.select_related("company").get(pk=run_id)
    integration = (
        PersonioIntegration.objects.select_related("company").filter(company=run.company).first()
    )
    try:
        return _carry_out(run, integration)
    except RunLost:
        return SyncRun.objects.get(pk=run_id)
    except (PersonioError, NotConnected, crypto.SecretUnreadable) as exc:
        return _fail(run, integration, exc)
    except Exception as exc:
        # A bug, a locked database, a full disk: the run still ends with an outcome, frees the
        # company at once and counts toward the failure streak, instead of waiting "running"
        # for the lease to run out.
        log.exception("sync crashed company=%s run=%s", run.company_id, run.pk)
        return _fail(run, integration, exc)


def _carry_out(run: SyncRun, integration: PersonioIntegration | None) -> SyncRun:
    if integration is None or not integration.is_connected:
        raise NotConnected("Personio is not connected for this company.")
    last_beat = time.monotonic()

    def beat(fetched: int | None = None) -> None:
        nonlocal last_beat
        if time.monotonic() - last_beat >= heartbeat_seconds():
            last_beat = time.monotonic()
            if not SyncRun.objects.heartbeat(run.pk, fetched=fetched):
                raise RunLost()

    scope = _scope_of(run, integration)
    with plan_for(run.company, integration, beat, scope) as planned:
        delivered = frozenset(planned.reading.delivered)
        run.requests = planned.reading.stats.get("requests", 0)
        run.rate_limited = planned.reading.stats.get("rate_limited", 0)
        run.attributes = sorted(delivered)
        if planned.reasons:
            held = hold(run, integration, planned.plan(), planned.reasons)
            log.info("sync held company=%s run=%s", run.company_id, run.pk)
            return held
        apply(
            run,
            planned.actions.chunks(),
            planned.tally,
            # A partial read says nothing about the whitelist when it read nobody.
            attributes=delivered if not scope.partial or planned.reading.readable else None,
            partial=planned.reconciler.seen_remote if scope.partial else None,
        )
    supersede_older_held(run)
    if scope.people is None and run.started_at is not None:
        # What the next delta run asks for: changes since this read began; and after a full
        # read the next delta is a whole interval away (it would find what this one just did).
        changes: dict[str, object] = {"delta_since": run.started_at - DELTA_OVERLAP}
        if not scope.partial and integration.next_delta_at is not None:
            changes["next_delta_at"] = timezone.now() + dt.timedelta(
                minutes=integration.delta_interval
            )
        PersonioIntegration.objects.filter(pk=integration.pk).update(**changes)
    health.record_success(integration)
    log.info("sync applied company=%s run=%s counts=%s", run.company_id, run.pk, run.counts)
    return run


def _scope_of(run: SyncRun, integration: PersonioIntegration) -> Scope:
    if run.kind == RunKind.WEBHOOK:
        return Scope(people=frozenset(run.targets or ()))
    if run.kind == RunKind.DELTA:
        if integration.delta_since is None:
            # Nothing applied yet to count from: read everyone (and say so on the run).
            SyncRun.objects.filter(pk=run.pk).update(kind=RunKind.FULL)
            run.kind = RunKind.FULL
            return EVERYONE
        return Scope(since=integration.delta_since)
    return EVERYONE


def _note_for(exc: BaseException) -> Note:
    if isinstance(exc, NotConnected):
        return Note("not_connected")
    if isinstance(exc, crypto.SecretUnreadable):
        return Note("secret_unreadable")
    if isinstance(exc, PersonioError):
        return Note("personio_error", {"detail": getattr(exc, "message", None) or str(exc)})
    return Note("internal_error", {"detail": type(exc).__name__})


def _fail(run: SyncRun, integration: PersonioIntegration | None, exc: BaseException) -> SyncRun:
    note = _note_for(exc)
    if not run.finish(RunStatus.FAILED, note=note.as_json()):
        return SyncRun.objects.get(pk=run.pk)
    if integration is not None:
        health.record_failure(
            integration, note, needs_reconnect=isinstance(exc, AuthenticationError)
        )
    log.warning("sync failed company=%s run=%s: %s", run.company_id, run.pk, note.code)
    return run
