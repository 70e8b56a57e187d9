"""The imperative shell around the `Reconciler`: read, reconcile in chunks, guard, apply.

Contract of a run:
- One run per company at a time: the `one_sync_in_progress_per_company` partial unique index
  admits one queued-or-running run, across processes and machines. A worker that dies leaves a
  run whose heartbeat stops; `reap_stale_runs` marks it interrupted after the lease
  (`SYNC_LEASE_SECONDS`), which frees the company.
- Applied fully or not at all: the whole plan is written in one transaction with bulk writes;
  unchanged employees are not written. A run that fails before or during apply changes nothing.
- Memory stays flat as companies grow, and an unchanged company costs little more than reading
  it: records are reconciled in chunks of 1,000 while they arrive (`rc.Reconciler.arrive`,
  reading only the portal employees with the chunk's Personio IDs). What needs the whole
  listing — new hires, e-mail matches, changed e-mails — waits in a `Spill` (a temporary file)
  and is decided after the last page; the plan's actions go to another spill and are applied
  from there. Only ids and e-mails are kept for the whole company.
- A plan that looks wrong (`reconcile.hold_reasons`) is kept on the run as `held`, not applied,
  until an HR admin confirms (re-checked against the current state) or discards it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import itertools
import logging
import time
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

from django.conf import settings
from django.db import IntegrityError, connections, transaction
from django.db.models import Q, QuerySet
from django.db.models.expressions import RawSQL
from django.utils import timezone

from benefitsync.audit import services as audit
from benefitsync.employees import services as employee_services
from benefitsync.employees.models import Employee, EmployeeSource
from benefitsync.integrations.personio import reconcile as rc
from benefitsync.integrations.personio.client import Credentials, PersonioClient
from benefitsync.integrations.personio.errors import (
    AuthenticationError,
    BadRecord,
    PersonioError,
)
from benefitsync.integrations.personio.mapping import Labels, bad_record_skip, to_remote
from benefitsync.integrations.personio.models import (
    PersonioIntegration,
    RunStatus,
    SyncEvent,
    SyncRun,
)
from benefitsync.lib import crypto
from benefitsync.lib.db import fast_insert
from benefitsync.lib.months import Month
from benefitsync.lib.spill import CHUNK_SIZE, Spill

if TYPE_CHECKING:
    from benefitsync.accounts.models import User
    from benefitsync.companies.models import Company

log = logging.getLogger(__name__)


def heartbeat_seconds() -> float:
    """How often a running sync renews its lease and reports progress: every second, and well
    inside SYNC_LEASE_SECONDS."""
    return min(1.0, settings.SYNC_LEASE_SECONDS / 3)


class AlreadyRunning(Exception):
    """A sync of this company is queued or running; the existing run is attached."""

    def __init__(self, run: SyncRun | None) -> None:
        super().__init__("A synchronization of this company is already running.")
        self.run = run


class NotConnected(Exception):
    """The company has no usable Personio credentials."""


# --- building blocks ------------------------------------------------------------------------------


def make_client(integration: PersonioIntegration) -> PersonioClient:
    """The one place a Personio client is built from stored credentials."""
    if not integration.client_id or not integration.client_secret_encrypted:
        raise NotConnected("Personio is not connected for this company.")
    secret = crypto.decrypt(integration.client_secret_encrypted)
    return client_for(
        Credentials(integration.client_id, secret),
        integration.base_url or settings.PERSONIO_BASE_URL,
    )


def client_for(credentials: Credentials, base_url: str) -> PersonioClient:
    return PersonioClient(
        credentials,
        base_url=base_url,
        partner_id=settings.PERSONIO_PARTNER_ID or None,
        app_id=settings.PERSONIO_APP_ID or None,
        **settings.PERSONIO_CLIENT_OPTIONS,
    )


def labels_of(integration: PersonioIntegration) -> Labels:
    return Labels.parse(
        integration.personnel_number_labels,
        integration.marital_status_labels,
        integration.opt_in_label,
    )


def policy_of(integration: PersonioIntegration) -> rc.Policy:
    return rc.Policy(
        company_filter=rc.CompanyFilter.of(
            integration.filter_email_domains,
            integration.filter_company_names,
            integration.filter_opt_in,
        ),
        auto_invite=integration.auto_invite,
    )


_SNAPSHOT_FIELDS = ("id", "personio_id", "status", "last_working_month", "missing_from_personio")
_KEY_FIELDS = ("id", "personio_id", "email", "status", "missing_from_personio")


class _Key(NamedTuple):
    """The slim form of a portal employee a sync keeps for the whole company (`rc.LocalKey`)."""

    id: int
    personio_id: int | None
    email: str
    status: str
    missing: bool


def _as_date(value: dt.date | str | None) -> dt.date | None:
    # SQLite hands dates back as ISO strings (Django's converters would parse them per field).
    return dt.date.fromisoformat(value) if isinstance(value, str) else value


_DATE_AT = tuple(5 + rc.SYNCED_FIELDS.index(name) for name in ("hire_date", "leaving_date"))


def _local_employees(
    rows: QuerySet[Employee, Any], limit: int | None = None
) -> Iterator[rc.LocalEmployee]:
    """The rows (at most `limit`) as plain values. The SQL is the ORM's; the rows are read from
    the cursor, not through the ORM's per-row machinery, which cost as much as the rest of an
    unchanged sync's own work (measured with py-spy at 30k employees). No ORDER BY: the model's
    default (by name) would make the database prefer the name index to the Personio ID index
    and read the whole company for every chunk."""
    names = (*_SNAPSHOT_FIELDS, *rc.SYNCED_FIELDS)
    query = rows.order_by().values_list(*names)[:limit]
    sql, params = query.query.sql_with_params()
    fields = rc.SYNCED_FIELDS
    hire_at, leaving_at = _DATE_AT
    with connections[query.db].cursor() as cursor:
        cursor.execute(sql, params)
        while batch := cursor.fetchmany(2000):
            for row in batch:
                values = list(row[5:])
                values[hire_at - 5] = _as_date(row[hire_at])
                values[leaving_at - 5] = _as_date(row[leaving_at])
                lwm = _as_date(row[3])
                yield rc.LocalEmployee(
                    id=row[0],
                    personio_id=row[1],
                    status=row[2],
                    last_working_month=None if lwm is None else Month.of(lwm),
                    missing=bool(row[4]),
                    fields=dict(zip(fields, values, strict=True)),
                )


def snapshot(company: Company) -> list[rc.LocalEmployee]:
    """Every employee of the company, as plain values (one query, no model instances)."""
    return list(_local_employees(Employee.objects.filter(company=company)))


def local_keys(company: Company) -> Iterator[_Key]:
    """Every employee of the company in its slim form, streamed in id order."""
    rows = Employee.objects.filter(company=company).order_by("pk").values_list(*_KEY_FIELDS)
    for pk, pid, email, status, missing in rows.iterator(chunk_size=5000):
        yield _Key(pk, pid, rc.email_key(email), status, missing)


def _among(values: Sequence[int]) -> RawSQL:
    """`values` (ints, not empty) as the list of an `__in` lookup, passed as they are. The
    lookup's own preparation of a plain list costs ~9 µs per value (a sixth of an unchanged
    sync's own work, measured with py-spy), and the sync asks for a thousand at a time."""
    # Only placeholders in the SQL; the values go as parameters.
    return RawSQL(", ".join(["%s"] * len(values)), values)  # noqa: S611


def local_rows(company: Company, pids: list[int], ids: list[int]) -> list[rc.LocalEmployee]:
    """The employees of `company` with one of the Personio IDs `pids` or one of the ids `ids`."""
    wanted = Q()
    if pids:
        wanted |= Q(personio_id__in=_among(pids))
    if ids:
        wanted |= Q(pk__in=_among(ids))
    if not wanted:
        return []
    return list(_local_employees(Employee.objects.filter(wanted, company=company)))


def today_for(company: Company) -> dt.date:
    return employee_services.company_today(company)


Item = rc.RemoteEmployee | rc.Skip


@dataclasses.dataclass
class Reading:
    """What one read of Personio's listing delivered besides the records (filled while read)."""

    delivered: set[str] = dataclasses.field(default_factory=set)  # attribute keys delivered
    readable: int = 0  # records that mapped to an employee
    stats: dict[str, Any] = dataclasses.field(default_factory=dict)  # the client's counters


def read(
    integration: PersonioIntegration,
    reading: Reading,
    on_progress: Callable[[int], None] | None = None,
) -> Generator[Item, None, None]:
    """Every employee Personio delivers, mapped, in Personio's order (raises the client's typed
    errors). The last sync's count lets the client ask for the first pages at once."""
    last = (
        SyncRun.objects.filter(
            company_id=integration.company_id,
            status__in=[RunStatus.SUCCEEDED, RunStatus.PARTLY_FAILED, RunStatus.APPLIED],
        )
        .values_list("counts", flat=True)
        .first()
    )
    expected = (last or {}).get("remote_total")
    labels = labels_of(integration)
    delivered = reading.delivered
    with make_client(integration) as client:
        listing = client.iter_employees(expected_total=expected)
        for n, record in enumerate(listing, start=1):
            if on_progress is not None and n % 100 == 0:
                on_progress(n)
            if isinstance(record, BadRecord):
                yield bad_record_skip(record)
                continue
            if not record.present <= delivered:
                delivered |= record.present
            item = to_remote(record, labels)
            reading.readable += isinstance(item, rc.RemoteEmployee)
            yield item
        reading.stats = client.stats.as_dict()


class _Local:
    """The portal rows a plan reads (no sync writes while it plans, so they hold still).

    A listing that fits in one chunk (most companies) is reconciled against one read of the
    whole company, which serves every step: a daily cycle of small companies makes one query
    per company, not three. Otherwise each chunk reads its own rows, and the steps that need
    the whole company read its slim keys once.
    """

    def __init__(self, company: Company, *, whole_listing: bool) -> None:
        self.company = company
        self.whole: list[rc.LocalEmployee] | None = None
        if whole_listing:
            # Bounded: a company with far more portal employees than Personio delivers (a
            # filter, hand-made employees) goes the chunked way instead.
            rows = Employee.objects.filter(company=company)
            whole = list(_local_employees(rows, limit=CHUNK_SIZE + 1))
            if len(whole) <= CHUNK_SIZE:
                # In id order, as `local_keys` reads them: missing flags come out in that order.
                self.whole = sorted(whole, key=lambda e: e.id)
        # Nobody linked yet (a first sync): no record can match by Personio ID, so don't ask.
        # Only a sync links employees, and one sync per company runs at a time.
        self.linked = self.whole is None and (
            Employee.objects.filter(company=company, personio_id__isnull=False).exists()
        )

    def rows(self, pids: list[int], ids: list[int]) -> list[rc.LocalEmployee]:
        """(At least) the employees with one of the Personio IDs `pids` or the ids `ids`."""
        if self.whole is not None:
            return self.whole
        return local_rows(self.company, pids if self.linked else [], ids)

    def keys(self) -> Iterable[rc.LocalKey]:
        """Every employee of the company, in its slim form."""
        return self.whole if self.whole is not None else local_keys(self.company)


@dataclasses.dataclass
class Planned:
    """A reconciled plan: its actions in order (parked on disk), its counts, the reasons to
    hold it (empty: apply), and what the read delivered. Close it (or use `with`) to drop the
    actions."""

    actions: Spill[rc.Action]
    tally: rc.Tally
    reasons: list[str]
    reading: Reading

    def plan(self) -> rc.Plan:
        """The whole plan in memory (a preview or a held run keeps it)."""
        t = self.tally
        return rc.Plan(list(self.actions), t.unchanged, t.filtered_out, t.remote_total)

    def __enter__(self) -> Planned:
        return self

    def __exit__(self, *exc: object) -> None:
        self.actions.close()


def plan_for(
    company: Company,
    integration: PersonioIntegration,
    on_progress: Callable[[int], None] | None = None,
) -> Planned:
    """Read Personio and reconcile in chunks (see `rc.Reconciler`), then guard: the plan and
    the reasons to hold it. Records that need the whole listing wait in a spill; the actions
    go to another."""
    reconciler = rc.Reconciler(policy_of(integration), today_for(company))
    reading = Reading()
    actions: Spill[rc.Action] = Spill()
    try:
        with (
            Spill[rc.RemoteEmployee]() as later,
            # Closed at once if reconciling fails mid-listing: the client's page threads stop.
            contextlib.closing(read(integration, reading, on_progress)) as items,
        ):
            chunk = list(itertools.islice(items, CHUNK_SIZE))
            local = _Local(company, whole_listing=len(chunk) < CHUNK_SIZE)
            while chunk:
                pids = [r.personio_id for r in chunk if isinstance(r, rc.RemoteEmployee)]
                decided, deferred = reconciler.arrive(chunk, local.rows(pids, []))
                actions.extend(decided)
                later.extend(deferred)
                chunk = list(itertools.islice(items, CHUNK_SIZE))
            reconciler.settle(local.keys())
            for records in later.chunks():
                pids, ids = reconciler.wanted(records)
                actions.extend(reconciler.decide(records, local.rows(pids, ids)))
                if on_progress is not None:
                    on_progress(reading.readable)
        actions.extend(reconciler.finish())
    except BaseException:
        actions.close()
        raise
    previous = integration.last_attributes
    reasons = rc.hold_reasons(
        reconciler.tally,
        active_count=reconciler.active_count,
        previous_attributes=None if previous is None else frozenset(previous),
        delivered_attributes=frozenset(reading.delivered),
    )
    return Planned(actions, reconciler.tally, reasons, reading)


# --- requesting and claiming runs -----------------------------------------------------------------


def request_sync(
    company: Company,
    trigger: str,
    *,
    acting_user: User | None = None,
    enqueue: bool = True,
) -> SyncRun:
    """Queue a sync of `company` (raises AlreadyRunning when one is queued or running).

    The run row is the claim: the partial unique index lets exactly one in-progress run exist.
    The job is enqueued after commit, so a worker never looks for a row that is not there yet.
    """
    reap_stale_runs(company=company)
    try:
        with transaction.atomic():
            run = SyncRun.objects.create(company=company, trigger=trigger, requested_by=acting_user)
    except IntegrityError:
        raise AlreadyRunning(in_progress(company)) from None
    if acting_user is not None:
        audit.record(
            "personio.sync_now", company=company, actor=acting_user, target=f"run:{run.pk}"
        )
    if enqueue:
        from benefitsync.integrations.personio import tasks

        transaction.on_commit(lambda: tasks.run_sync(run.pk))
    return run


def in_progress(company: Company) -> SyncRun | None:
    return SyncRun.objects.filter(
        company=company, status__in=[RunStatus.QUEUED, RunStatus.RUNNING]
    ).first()


def _claim(run_id: int) -> bool:
    now = timezone.now()
    return (
        SyncRun.objects.filter(pk=run_id, status=RunStatus.QUEUED).update(
            status=RunStatus.RUNNING, started_at=now, heartbeat_at=now
        )
        == 1
    )


def _heartbeat(run_id: int, fetched: int | None = None) -> bool:
    """Refresh the lease (and show how many employees were read so far); False when the run was
    taken from us (reaped as interrupted)."""
    changes: dict[str, Any] = {"heartbeat_at": timezone.now()}
    if fetched is not None:
        changes["counts"] = {"fetched": fetched}
    return SyncRun.objects.filter(pk=run_id, status=RunStatus.RUNNING).update(**changes) == 1


def reap_stale_runs(*, company: Company | None = None, now: dt.datetime | None = None) -> int:
    """Mark runs whose worker stopped sending heartbeats as interrupted (frees their company)."""
    moment = now or timezone.now()
    cutoff = moment - dt.timedelta(seconds=settings.SYNC_LEASE_SECONDS)
    stale = SyncRun.objects.filter(
        Q(status=RunStatus.RUNNING, heartbeat_at__lt=cutoff)
        | Q(status=RunStatus.QUEUED, queued_at__lt=cutoff)
    )
    if company is not None:
        stale = stale.filter(company=company)
    return stale.update(
        status=RunStatus.INTERRUPTED,
        finished_at=moment,
        message="The worker stopped before the run finished; nothing was applied.",
    )


# --- executing a run ------------------------------------------------------------------------------


def execute_run(run_id: int) -> SyncRun:
    """Carry out a queued run (called by the worker). Never raises for Personio trouble: the
    outcome is recorded on the run."""
    if not _claim(run_id):
        return SyncRun.objects.get(pk=run_id)
    run = SyncRun.objects.select_related("company").get(pk=run_id)
    company = run.company
    integration = PersonioIntegration.objects.filter(company=company).first()
    last_beat = time.monotonic()

    def beat(fetched: int | None = None) -> None:
        nonlocal last_beat
        if time.monotonic() - last_beat >= heartbeat_seconds():
            last_beat = time.monotonic()
            if not _heartbeat(run_id, fetched=fetched):
                raise RunLost()

    try:
        if integration is None or not integration.is_connected:
            raise NotConnected("Personio is not connected for this company.")
        planned = plan_for(company, integration, beat)
    except RunLost:
        return SyncRun.objects.get(pk=run_id)
    except (PersonioError, NotConnected, crypto.SecretUnreadable) as exc:
        return _fail(run, integration, exc)

    with planned:
        delivered = frozenset(planned.reading.delivered)
        run.requests = planned.reading.stats.get("requests", 0)
        run.rate_limited = planned.reading.stats.get("rate_limited", 0)
        run.attributes = sorted(delivered)
        if planned.reasons:
            return _hold(run, planned.plan(), planned.reasons)
        try:
            apply(run, planned.actions.chunks(), planned.tally, attributes=delivered)
        except RunLost:
            return SyncRun.objects.get(pk=run_id)
    _succeeded(integration)
    return run


class RunLost(Exception):
    """Our run was reaped (we were too slow); stop without writing."""


def _fail(run: SyncRun, integration: PersonioIntegration | None, exc: Exception) -> SyncRun:
    message = getattr(exc, "message", None) or str(exc)
    if not _finish(run, status=RunStatus.FAILED, message=message):
        return SyncRun.objects.get(pk=run.pk)
    if integration is not None:
        from benefitsync.integrations.personio import services

        services.record_failure(
            integration, message, needs_reconnect=isinstance(exc, AuthenticationError)
        )
    log.warning("sync failed company=%s run=%s: %s", run.company_id, run.pk, message)
    return run


def _succeeded(integration: PersonioIntegration | None) -> None:
    if integration is not None and integration.consecutive_failures:
        PersonioIntegration.objects.filter(pk=integration.pk).update(
            consecutive_failures=0, failure_notified_at=None
        )


def _finish(run: SyncRun, **fields: Any) -> bool:
    """Record a run's outcome, unless it was reaped as interrupted meanwhile (then a newer run
    may own the company, and this one must not claim an outcome). Updates `run` in place."""
    fields["finished_at"] = timezone.now()
    updated = SyncRun.objects.filter(pk=run.pk, status=RunStatus.RUNNING).update(**fields)
    for name, value in fields.items():
        setattr(run, name, value)
    return updated == 1


def _hold(run: SyncRun, plan: rc.Plan, reasons: list[str]) -> SyncRun:
    if not _finish(
        run,
        status=RunStatus.HELD,
        hold_reasons=reasons,
        plan=plan_to_json(plan),
        counts=plan.counts(),
        requests=run.requests,
        rate_limited=run.rate_limited,
        attributes=run.attributes,
    ):
        return SyncRun.objects.get(pk=run.pk)
    log.info("sync held company=%s run=%s: %s", run.company_id, run.pk, "; ".join(reasons))
    return run


# --- applying a plan ------------------------------------------------------------------------------


def apply(
    run: SyncRun,
    chunks: Iterable[Sequence[rc.Action]],
    tally: rc.Tally,
    *,
    attributes: frozenset[str] | None,
    final_status: str | None = None,
) -> SyncRun:
    """Write a plan (its actions in chunks, `tally` its counts) in one transaction; unchanged
    employees are not written."""
    company = run.company
    with transaction.atomic():
        if final_status is None and not (
            SyncRun.objects.select_for_update().filter(pk=run.pk, status=RunStatus.RUNNING).exists()
        ):
            # Reaped as interrupted while we worked (the lease ran out): a newer run owns the
            # company now, so this one must not write.
            raise RunLost()
        invited = written = 0
        for actions in chunks:
            chunk_invited, chunk_written = _write(run, actions)
            invited += chunk_invited
            written += chunk_written
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
    log.info("sync applied company=%s run=%s counts=%s", company.pk, run.pk, counts)
    return run


def _of(actions: Sequence[rc.Action], kind: type[Any]) -> list[Any]:
    return [a for a in actions if isinstance(a, kind)]


def _write(run: SyncRun, actions: Sequence[rc.Action]) -> tuple[int, int]:
    """Write one chunk of a plan; returns (invitations queued, employee rows written). An
    employee's actions are all in one chunk."""
    company = run.company
    created = _apply_creates(company, _of(actions, rc.Create))
    touched = _apply_updates(_of(actions, rc.Update))
    employee_services.sync_mark_leaving(
        {a.employee_id: a.last_working_month for a in _of(actions, rc.MarkLeaving)}
        | {a.employee_id: a.last_working_month for a in _of(actions, rc.MoveLeaving)}
    )
    employee_services.sync_undo_leaving([a.employee_id for a in _of(actions, rc.UndoLeaving)])
    now = timezone.now()
    flags = _of(actions, rc.FlagMissing)
    if flags:
        Employee.objects.filter(pk__in=[a.employee_id for a in flags]).update(
            missing_from_personio=True, missing_since=now, updated_at=now
        )
    unflags = _of(actions, rc.Unflag)
    if unflags:
        Employee.objects.filter(pk__in=[a.employee_id for a in unflags]).update(
            missing_from_personio=False, missing_since=None, updated_at=now
        )
    invited = _apply_invites(_of(actions, rc.Invite), created)
    fast_insert(SyncEvent, _events(run, actions, created))
    written = (
        touched
        | set(created.values())
        | {a.employee_id for a in actions if hasattr(a, "employee_id")}
    )
    return invited, len(written)


def _apply_creates(company: Company, creates: list[rc.Create]) -> dict[int, int]:
    """Insert the new employees (fast path: a first sync creates thousands); returns Personio
    ID → employee id. The rows were validated by `mapping.to_remote` and `reconcile`."""
    if not creates:
        return {}
    fast_insert(
        Employee,
        (
            {
                "company_id": company.pk,
                "source": EmployeeSource.PERSONIO,
                "personio_id": c.personio_id,
                "status": c.status,
                "last_working_month": None
                if c.last_working_month is None
                else c.last_working_month.first_day,
                **{
                    k: ("" if v is None and k not in _DATE_FIELDS else v)
                    for k, v in c.fields.items()
                },
            }
            for c in creates
        ),
    )
    rows = (
        Employee.objects.filter(
            company=company, personio_id__in=_among([c.personio_id for c in creates])
        )
        .order_by()  # see _local_employees: no ORDER BY, so the Personio ID index is used
        .values_list("personio_id", "pk")
    )
    return {pid: pk for pid, pk in rows if pid is not None}


_DATE_FIELDS = frozenset({"hire_date", "leaving_date"})


def _apply_updates(updates: list[rc.Update]) -> set[int]:
    if not updates:
        return set()
    employees = Employee.objects.select_for_update().in_bulk([u.employee_id for u in updates])
    fields: set[str] = set()
    for u in updates:
        employee = employees[u.employee_id]
        for name, (_old, new) in u.changes.items():
            value = "" if new is None and name not in _DATE_FIELDS else new
            setattr(employee, name, value)
            fields.add(name)
        if u.link:
            employee.personio_id = u.personio_id
            employee.source = EmployeeSource.PERSONIO
            fields.update({"personio_id", "source"})
    fields.add("updated_at")
    for employee in employees.values():
        employee.updated_at = timezone.now()
    Employee.objects.bulk_update(list(employees.values()), sorted(fields), batch_size=500)
    return set(employees)


def _apply_invites(invites: list[rc.Invite], created: dict[int, int]) -> int:
    if not invites:
        return 0
    from benefitsync.invitations import services as invitations

    employees = Employee.objects.in_bulk([created[i.personio_id] for i in invites])
    for employee in employees.values():
        # Inside the apply transaction: the outbox row commits with the employee or not at all,
        # and its unique key makes a retried run send nothing twice.
        invitations.do_invite(employee, acting_user=None)
    return len(employees)


def _events(
    run: SyncRun, actions: Sequence[rc.Action], created: dict[int, int]
) -> Iterator[dict[str, Any]]:
    """One SyncEvent row (by attname, for `fast_insert`) per action."""
    for action in actions:
        employee_id = getattr(action, "employee_id", None)
        pid = getattr(action, "personio_id", None)
        if isinstance(action, rc.Create):
            employee_id = created.get(action.personio_id)
        kind, changes, message, error = describe(action)
        yield {
            "run_id": run.pk,
            "company_id": run.company_id,
            "employee_id": employee_id,
            "personio_id": pid,
            "action": kind,
            "changes": changes,
            "message": message,
            "error": error,
        }


def describe(action: rc.Action) -> tuple[str, dict[str, Any], str, bool]:
    match action:
        case rc.Create(fields=fields, status=status, last_working_month=month):
            changes = {k: [None, _plain(v)] for k, v in fields.items()}
            msg = f"last working month {month}" if month else ""
            return "create", changes, msg if status != rc.ACTIVE else "", False
        case rc.Update(changes=changes, link=link):
            return (
                "update",
                {k: [_plain(o), _plain(n)] for k, (o, n) in changes.items()},
                "linked to Personio" if link else "",
                False,
            )
        case rc.MarkLeaving(last_working_month=month):
            return "mark_leaving", {"last_working_month": [None, str(month)]}, "", False
        case rc.MoveLeaving(old_month=old, last_working_month=new):
            return "move_leaving", {"last_working_month": [_plain(old), str(new)]}, "", False
        case rc.UndoLeaving():
            return "undo_leaving", {}, "leaving date removed in Personio", False
        case rc.FlagMissing(reason=reason):
            return "flag_missing", {}, reason, False
        case rc.Unflag():
            return "unflag", {}, "delivered by Personio again", False
        case rc.Skip(reason=reason, error=error):
            return "skip", {}, reason, error
        case rc.Invite():
            return "invite", {}, "invitation e-mail queued", False
    raise TypeError(action)


def _plain(value: Any) -> Any:
    if isinstance(value, dt.date | Month):
        return str(value) if isinstance(value, Month) else value.isoformat()
    return value


# --- held runs ------------------------------------------------------------------------------------


def confirm_held(run: SyncRun, *, acting_user: User | None) -> SyncRun:
    """Apply a held run's kept plan, re-checked against the current state: actions whose
    employee changed since the preview are dropped and reported as skips."""
    with transaction.atomic():
        run = SyncRun.objects.select_for_update().select_related("company").get(pk=run.pk)
        if run.status != RunStatus.HELD or run.plan is None:
            raise ValueError("Only a held run can be confirmed.")
        if in_progress(run.company) is not None:
            raise AlreadyRunning(in_progress(run.company))
        plan = recheck(plan_from_json(run.plan), snapshot(run.company))
        apply(
            run,
            [plan.actions],
            plan.tally(),
            attributes=frozenset(run.attributes or []),
            final_status=RunStatus.APPLIED,
        )
        run.message = f"Confirmed by {acting_user or 'the system'}"
        run.save(update_fields=["message"])
        audit.record(
            "personio.hold_confirm", company=run.company, actor=acting_user, target=f"run:{run.pk}"
        )
    return run


def discard_held(run: SyncRun, *, acting_user: User | None) -> SyncRun:
    updated = SyncRun.objects.filter(pk=run.pk, status=RunStatus.HELD).update(
        status=RunStatus.DISCARDED, message=f"Discarded by {acting_user or 'the system'}"
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
            kept.append(rc.Skip(getattr(action, "personio_id", None), "changed since the preview"))
        else:
            kept.append(action)
    return rc.Plan(kept, plan.unchanged, plan.filtered_out, plan.remote_total)


# --- plan (de)serialization: a held run keeps its plan as JSON ------------------------------------

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


def _encode(value: Any) -> Any:
    if isinstance(value, Month):
        return {"$month": str(value)}
    if isinstance(value, dt.date):
        return {"$date": value.isoformat()}
    if isinstance(value, tuple):
        return [_encode(v) for v in value]
    if isinstance(value, dict):
        return {k: _encode(v) for k, v in value.items()}
    return value


def _decode(value: Any) -> Any:
    if isinstance(value, dict):
        if "$month" in value:
            return Month.parse(value["$month"])
        if "$date" in value:
            return dt.date.fromisoformat(value["$date"])
        return {k: _decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return tuple(_decode(v) for v in value)
    return value


def plan_to_json(plan: rc.Plan) -> dict[str, Any]:
    return {
        "actions": [
            {"kind": type(a).__name__}
            | {f.name: _encode(getattr(a, f.name)) for f in dataclasses.fields(a)}
            for a in plan.actions
        ],
        "unchanged": plan.unchanged,
        "filtered_out": plan.filtered_out,
        "remote_total": plan.remote_total,
    }


def plan_from_json(data: dict[str, Any]) -> rc.Plan:
    actions = []
    for item in data["actions"]:
        values = {k: _decode(v) for k, v in item.items() if k != "kind"}
        actions.append(_KINDS[item["kind"]](**values))
    return rc.Plan(actions, data["unchanged"], data["filtered_out"], data["remote_total"])


def dry_run(company: Company) -> tuple[rc.Plan, list[str]]:
    """What the next sync would do, without writing anything."""
    integration = PersonioIntegration.objects.get(company=company)
    if not integration.is_connected:
        raise NotConnected("Personio is not connected for this company.")
    with plan_for(company, integration) as planned:
        return planned.plan(), planned.reasons
