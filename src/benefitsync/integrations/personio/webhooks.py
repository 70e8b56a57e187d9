"""Events instead of polling: Personio's webhooks on the portal's side, and the delta sync.

How a change in Personio reaches the portal (docs/personio.md "How changes arrive"):

- **Webhooks** (when the credential holds `personio:webhooks:write`): on connect, and from the
  integration page's "Repair", `register` asks Personio to POST every employee event to
  `receiver_url` with a random per-integration token, stored only as its SHA-256. `receive`
  checks the token in constant time, records the event (a repeated delivery once) and answers
  at once; events of one company arriving within WEBHOOK_COALESCE_SECONDS become one **webhook
  run** (`process_events`) that reads only the people named (`sync.read.read_people`).
- **Delta** (no webhooks): every `delta_interval` minutes the scheduler queues a run that reads
  what changed since the last one (`updated_since`; `schedule.schedule_deltas`).
- The **nightly full run** stays: only it flags people Personio no longer delivers, and it
  catches what neither events nor `updated_since` report. `missed_changes` tells the HR admin
  when it found changes while no event had arrived since the night before.

Every call to Personio here happens outside a database transaction; `receive` only writes.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import logging
import secrets
import uuid
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from huey.contrib.djhuey import db_task

from benefitsync.audit import services as audit
from benefitsync.integrations.personio.errors import NotPermitted, PersonioError
from benefitsync.integrations.personio.models import (
    IntegrationStatus,
    PersonioIntegration,
    RunKind,
    RunStatus,
    SyncRun,
    Trigger,
    WebhookEvent,
    WebhookState,
)
from benefitsync.integrations.personio.paging import PAGE_SIZE
from benefitsync.integrations.personio.sync import (
    AlreadyRunning,
    NotConnected,
    execute_run,
    make_client,
    request_sync,
)
from benefitsync.integrations.personio.texts import Note
from benefitsync.integrations.personio.webhooks_api import WebhookAdmin
from benefitsync.lib import crypto

if TYPE_CHECKING:
    from benefitsync.accounts.models import User

log = logging.getLogger(__name__)

# Every employee event Personio announces (WEBHOOKS.md "Events for employees").
EVENTS = (
    "person.created",
    "person.updated",
    "person.deleted",
    "employment.created",
    "employment.updated",
    "employment.deleted",
    "employment.started",
    "employment.terminated",
)
DESCRIPTION = "benefitsync: employee changes"
MAX_BODY_BYTES = 64 * 1024
# A failed webhook run gives its events back this often before the nightly run is left to
# catch up; each time a little later.
EVENT_ATTEMPTS = 3
RETRY_AFTER_FAILURE = dt.timedelta(seconds=30)
# A coalesced run that has not started this long after it was due was lost (a worker died):
# the every-minute tick starts it again.
STALE_DUE = dt.timedelta(seconds=60)
# An active webhook is looked at (still registered and enabled at Personio?) this often, and not
# when it delivered within the last day.
CHECK_EVERY = dt.timedelta(days=7)
QUIET_DAY = dt.timedelta(hours=24)
# What keeps a call to Personio from happening or succeeding: logged, the state says so.
UNREACHABLE = (PersonioError, NotConnected, crypto.SecretUnreadable)
# Count keys of a run that are changes of the portal.
CHANGE_KEYS = ("created", "updated", "leaving", "undone_leaving", "flagged_missing", "unflagged")


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _why(exc: BaseException) -> str:
    return getattr(exc, "message", None) or type(exc).__name__


def receiver_url(integration: PersonioIntegration) -> str:
    path = reverse("personio_webhook", kwargs={"key": integration.webhook_key})
    return f"{settings.PUBLIC_URL}{path}"


# --- registering: calls to Personio, never inside a transaction ---------------------------------


def register(
    integration: PersonioIntegration, *, acting_user: User | None = None
) -> PersonioIntegration:
    """Register the integration's webhook at Personio, replacing one registered before (the
    token is new each time: the old one is not known any more). Without the scope, or when
    Personio fails, the company falls back to the delta sync and the page says why."""
    if not settings.PERSONIO_WEBHOOKS:
        return _fall_back(integration, WebhookState.NONE, Note("webhooks_off"))
    url = receiver_url(integration)
    token = secrets.token_urlsafe(32)
    try:
        with make_client(integration) as client:
            admin = WebhookAdmin(client)
            for hook in admin.webhooks():
                if hook.get("url") == url or hook.get("id") == integration.webhook_id:
                    admin.delete(str(hook["id"]))
            # The receiver knows the new token before Personio can send it: an event delivered
            # right after the create would otherwise meet the old hash (401, never retried).
            _save(integration, {"webhook_token_hash": token_digest(token)})
            created = admin.create(url=url, token=token, description=DESCRIPTION, events=[*EVENTS])
    except NotPermitted:
        return _fall_back(integration, WebhookState.REFUSED, Note("webhooks_not_permitted"))
    except UNREACHABLE as exc:
        detail = _why(exc)
        log.warning("webhook registration failed company=%s: %s", integration.company_id, detail)
        return _fall_back(
            integration, WebhookState.FAILED, Note("webhook_failed", {"detail": detail})
        )
    now = timezone.now()
    changes = {
        "webhook_state": WebhookState.ACTIVE,
        "webhook_id": str(created["id"]),
        "webhook_url": url,
        "webhook_token_hash": token_digest(token),
        "webhook_note": None,
        "webhook_registered_at": now,
        "webhook_checked_at": now,
        "next_delta_at": None,
    }
    _save(integration, changes)
    audit.record(
        "personio.webhook_registered",
        company=integration.company,
        actor=acting_user,
        target=f"company:{integration.company_id}",
        url=url,
    )
    return integration


def _fall_back(integration: PersonioIntegration, state: str, note: Note) -> PersonioIntegration:
    """No webhooks: ask Personio for changes every `delta_interval` minutes instead."""
    changes: dict[str, Any] = {
        "webhook_state": state,
        "webhook_note": note.as_json(),
        "webhook_token_hash": "",
        "webhook_checked_at": timezone.now(),
    }
    if integration.next_delta_at is None:
        changes["next_delta_at"] = next_delta(integration)
    _save(integration, changes)
    return integration


def next_delta(integration: PersonioIntegration, after: dt.datetime | None = None) -> dt.datetime:
    return (after or timezone.now()) + dt.timedelta(minutes=integration.delta_interval)


def _save(integration: PersonioIntegration, changes: Mapping[str, Any]) -> None:
    PersonioIntegration.objects.filter(pk=integration.pk).update(**changes)
    for name, value in changes.items():
        setattr(integration, name, value)


def unregister(integration: PersonioIntegration) -> None:
    """Delete the webhook at Personio (on disconnect, while the credentials still exist). Best
    effort: a webhook left behind reaches a receiver that no longer knows its token (404), and
    Personio does not retry a 4xx."""
    if not integration.webhook_id:
        return
    try:
        with make_client(integration) as client:
            WebhookAdmin(client).delete(integration.webhook_id)
    except UNREACHABLE as exc:
        log.warning("webhook not deleted company=%s: %s", integration.company_id, _why(exc))


def forget() -> dict[str, Any]:
    """The field values that end webhooks and delta syncs (disconnect): saved by the caller."""
    return {
        "webhook_state": WebhookState.NONE,
        "webhook_id": "",
        "webhook_url": "",
        "webhook_token_hash": "",
        "webhook_note": None,
        "webhook_registered_at": None,
        "webhook_run_due_at": None,
        "next_delta_at": None,
        "delta_since": None,
    }


def check(integration: PersonioIntegration) -> PersonioIntegration:
    """The nightly look at the webhook: still registered and enabled at Personio? Registered
    again when not — and tried again when the credential refused it before (its scope may have
    been granted since). 2 requests when all is well."""
    if not integration.is_connected or not settings.PERSONIO_WEBHOOKS:
        return integration
    if integration.webhooks_active:
        try:
            with make_client(integration) as client:
                hooks = WebhookAdmin(client).webhooks()
        except UNREACHABLE as exc:
            log.warning("webhook check failed company=%s: %s", integration.company_id, _why(exc))
            return integration
        ours = next((h for h in hooks if h.get("id") == integration.webhook_id), None)
        if (
            ours is not None
            and ours.get("status") == "ENABLED"
            and ours.get("url") == receiver_url(integration)
        ):
            _save(integration, {"webhook_checked_at": timezone.now()})
            return integration
        log.warning(
            "webhook gone or disabled company=%s: registering again", integration.company_id
        )
    return register(integration)


@db_task(priority=10)
def nightly(run_id: int) -> None:
    """The worker's job for a company's night: its full sync, then, when due, a look at its
    webhook (`check_due`)."""
    run = execute_run(run_id)
    integration = (
        PersonioIntegration.objects.select_related("company")
        .filter(company_id=run.company_id)
        .first()
    )
    if integration is not None and check_due(integration):
        check(integration)


def check_due(integration: PersonioIntegration, now: dt.datetime | None = None) -> bool:
    """Whether the night should look at the webhook: every night while webhooks are not
    active (1 request when the credential still lacks the scope); an active one once a week —
    the nightly full run catches what a lost webhook misses meanwhile, and the page warns — and
    not while events arrive (the webhook evidently works)."""
    if not integration.webhooks_active:
        return True
    moment = now or timezone.now()
    if integration.last_event_at is not None and moment - integration.last_event_at < QUIET_DAY:
        return False
    checked = integration.webhook_checked_at
    return checked is None or moment - checked >= CHECK_EVERY


# --- receiving: the endpoint's work, database only ----------------------------------------------


def _person_id(event_name: str, payload: object) -> int | None:
    """The Personio ID an event names (dataless: ids only). Person events name the person in
    `payload.id`, employment events in `payload.person.id` (WEBHOOKS.md: the exact payload was
    not seen; docs/personio.md says what is assumed)."""
    if not isinstance(payload, dict):
        return None
    person = payload.get("person")
    raw = person.get("id") if isinstance(person, dict) else None
    if raw is None and event_name.startswith("person."):
        raw = payload.get("id")
    try:
        value = int(str(raw))
    except (TypeError, ValueError):
        return None
    return value if value > 0 else None


def receive(key: uuid.UUID, authorization: str, body: bytes) -> int:
    """Take one delivery; the HTTP status to answer. 202: recorded (a run follows within
    seconds); 200: a delivery seen before, nothing to do; 401: wrong token; 404: no such
    receiver (or disconnected); 400: not an event. Personio retries only 5xx and time-outs."""
    integration = (
        PersonioIntegration.objects.filter(webhook_key=key)
        .only("pk", "company_id", "status", "webhook_token_hash")
        .first()
    )
    if integration is None or not integration.webhook_token_hash:
        return 404
    offered = authorization.strip()
    if offered[:7].lower() == "bearer ":
        offered = offered[7:].strip()
    if not hmac.compare_digest(token_digest(offered), integration.webhook_token_hash):
        return 401
    if not integration.is_connected:
        return 404
    try:
        event = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return 400
    if not isinstance(event, dict) or not isinstance(event.get("event_name"), str):
        return 400
    name = event["event_name"][:60]
    meta = event.get("meta")
    event_id = meta.get("event_id") if isinstance(meta, dict) else None
    # Without an event id, the same body delivered twice is the same event.
    event_key = str(event_id)[:100] if event_id else hashlib.sha256(body).hexdigest()
    occurred = event.get("occurred_at")
    person = _person_id(name, event.get("payload"))
    now = timezone.now()
    try:
        with transaction.atomic():
            WebhookEvent.objects.create(
                company_id=integration.company_id,
                event_key=event_key,
                event_name=name,
                personio_id=person,
                occurred_at=parse_datetime(occurred) if isinstance(occurred, str) else None,
            )
    except IntegrityError:
        return 200  # delivered before (Personio retries; faults duplicate)
    except ValueError:  # an occurred_at that is no date
        return 400
    PersonioIntegration.objects.filter(pk=integration.pk).update(last_event_at=now)
    if person is not None:
        arm(integration.company_id)
    return 202


def arm(company_id: int, delay: dt.timedelta | None = None) -> bool:
    """Schedule one webhook run for the company's waiting events, unless one is scheduled
    already (then the events wait for it: a burst becomes one run). True when this call
    scheduled it."""
    wait = delay if delay is not None else dt.timedelta(seconds=settings.WEBHOOK_COALESCE_SECONDS)
    now = timezone.now()
    armed = PersonioIntegration.objects.filter(
        Q(webhook_run_due_at__isnull=True) | Q(webhook_run_due_at__lt=now - STALE_DUE),
        company_id=company_id,
    ).update(webhook_run_due_at=now + wait)
    if armed:
        seconds = wait.total_seconds()
        transaction.on_commit(
            lambda: (
                run_events.schedule((company_id,), delay=seconds)
                if seconds > 0
                else run_events(company_id)
            )
        )
    return bool(armed)


@db_task(priority=20)
def run_events(company_id: int) -> None:
    """The worker's job: one webhook run for the company's waiting events."""
    process_events(company_id)


def process_events(company_id: int) -> SyncRun | None:
    """Carry out one webhook run for the events waiting (None when there was nothing to do or
    another run holds the company: then it is tried again shortly)."""
    PersonioIntegration.objects.filter(company_id=company_id).update(webhook_run_due_at=None)
    integration = (
        PersonioIntegration.objects.select_related("company").filter(company_id=company_id).first()
    )
    if integration is None or integration.status != IntegrationStatus.ACTIVE:
        return None  # paused (or reconnect needed): the events wait; the nightly run catches up
    pending = list(
        WebhookEvent.objects.filter(
            company_id=company_id, run__isnull=True, personio_id__isnull=False
        ).values_list("pk", "personio_id")
    )
    if not pending:
        return None
    people = {pid for _pk, pid in pending if pid is not None}
    try:
        if len(people) > _listing_cost(integration):
            # Reading them one by one would cost more requests than the whole listing.
            run = request_sync(integration.company, Trigger.WEBHOOK, enqueue=False)
        else:
            run = request_sync(
                integration.company,
                Trigger.WEBHOOK,
                enqueue=False,
                kind=RunKind.WEBHOOK,
                targets=people,
            )
    except AlreadyRunning:
        # Another run holds the company: these events wait for the next try.
        arm(company_id, dt.timedelta(seconds=max(5, settings.WEBHOOK_COALESCE_SECONDS)))
        return None
    events = [pk for pk, _pid in pending]
    WebhookEvent.objects.filter(pk__in=events).update(run=run, attempts=F("attempts") + 1)
    run = execute_run(run.pk)
    if run.status == RunStatus.FAILED:
        # Personio unreachable, say: give the events back for a later run, a few times.
        again = WebhookEvent.objects.filter(pk__in=events, attempts__lt=EVENT_ATTEMPTS).update(
            run=None
        )
        if again:
            arm(company_id, RETRY_AFTER_FAILURE)
    return run


def _listing_cost(integration: PersonioIntegration) -> int:
    """Requests a full listing costs: its pages, after the last full run's count."""
    total = SyncRun.objects.last_remote_total(integration.company_id) or 0
    return max(1, -(-total // PAGE_SIZE)) + 1  # + the attributes endpoint


def rescue_stale(now: dt.datetime | None = None) -> int:
    """Start the webhook runs whose scheduled job never came (a worker died); every minute."""
    moment = now or timezone.now()
    companies = list(
        PersonioIntegration.objects.filter(webhook_run_due_at__lt=moment - STALE_DUE).values_list(
            "company_id", flat=True
        )
    )
    for company_id in companies:
        PersonioIntegration.objects.filter(company_id=company_id).update(webhook_run_due_at=None)
        arm(company_id, dt.timedelta(0))
    return len(companies)


# --- what the integration page says ---------------------------------------------------------------


def missed_changes(integration: PersonioIntegration) -> int:
    """Changes the last full run applied while no event had arrived since the full run before
    it, with webhooks registered all that time: a sign that events stopped arriving (0: no
    sign). A full run also finds what Personio never announces (a job title, say), so the page
    asks to repair only when nothing arrived at all."""
    if not integration.webhooks_active or integration.webhook_registered_at is None:
        return 0
    runs = list(
        SyncRun.objects.applied_complete(integration.company_id).only("counts", "started_at")[:2]
    )
    since = runs[1].started_at if len(runs) == 2 else None
    if since is None:
        return 0
    last = runs[0]
    if integration.webhook_registered_at > since:
        return 0
    if integration.last_event_at is not None and integration.last_event_at >= since:
        return 0
    return sum(int(last.counts.get(k, 0)) for k in CHANGE_KEYS)
