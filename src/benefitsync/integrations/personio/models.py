"""The Personio integration of a company, its sync runs and what each run did."""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

DEFAULT_PERSONNEL_NUMBER_LABELS = ("Personnel number", "Personalnummer")
DEFAULT_MARITAL_STATUS_LABELS = ("Married?", "Verheiratet?", "Marital status", "Familienstand")
DEFAULT_OPT_IN_LABEL = "Probonio Filter"
# Daily syncs of companies with the same schedule time spread over this many minutes.
DAILY_SPREAD_MINUTES = 60


class IntegrationStatus(models.TextChoices):
    ACTIVE = "active", _("Integration active")
    NEEDS_RECONNECT = "needs_reconnect", _("Needs reconnecting")
    PAUSED = "paused", _("Paused")
    DISCONNECTED = "disconnected", _("Disconnected")


class WebhookState(models.TextChoices):
    """Whether Personio announces changes to the portal (`webhooks.py`)."""

    NONE = "none", _("Not registered")
    ACTIVE = "active", _("Webhooks active")
    REFUSED = "refused", _("Not permitted by the access data")
    FAILED = "failed", _("Registration failed")


# How often a company without webhooks asks Personio for changes (minutes; default hourly).
DELTA_INTERVALS = (15, 30, 60, 120, 240, 480)
DEFAULT_DELTA_INTERVAL = 60


class PersonioIntegration(models.Model):
    """A company's connection to Personio.

    The client secret is stored only encrypted (`lib.crypto`, key outside the database) and never
    rendered, logged or returned. Disconnecting erases the credentials and keeps this row, so the
    filter set by support and the sync history survive a reconnect.
    """

    company = models.OneToOneField(
        "companies.Company", on_delete=models.CASCADE, related_name="personio"
    )
    status = models.CharField(
        max_length=20, choices=IntegrationStatus.choices, default=IntegrationStatus.DISCONNECTED
    )
    base_url = models.URLField(blank=True)
    client_id = models.CharField(max_length=200, blank=True)
    client_secret_encrypted = models.TextField(blank=True)
    auto_invite = models.BooleanField(_("invite new employees automatically"), default=False)

    # Labels of the custom (dynamic_N) attributes to read; comma-separated alternatives.
    personnel_number_labels = models.CharField(
        max_length=300, default=", ".join(DEFAULT_PERSONNEL_NUMBER_LABELS)
    )
    marital_status_labels = models.CharField(
        max_length=300, default=", ".join(DEFAULT_MARITAL_STATUS_LABELS)
    )
    opt_in_label = models.CharField(max_length=200, default=DEFAULT_OPT_IN_LABEL)

    # The company filter (SPEC §5): set by support staff only.
    filter_email_domains = models.JSONField(default=list, blank=True)
    filter_company_names = models.JSONField(default=list, blank=True)
    filter_opt_in = models.BooleanField(default=False)

    schedule_time = models.TimeField(_("daily sync at"), default=dt.time(3, 0))
    next_sync_at = models.DateTimeField(null=True, blank=True, db_index=True)
    connected_at = models.DateTimeField(null=True, blank=True)
    last_attributes = models.JSONField(null=True, blank=True)
    consecutive_failures = models.PositiveIntegerField(default=0)
    failure_notified_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    # Events instead of polling (`webhooks.py`). `webhook_key` names the integration in the
    # receiver's URL (not a secret); the token Personio sends is stored only as its SHA-256.
    webhook_key = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    webhook_state = models.CharField(
        max_length=10, choices=WebhookState.choices, default=WebhookState.NONE
    )
    webhook_id = models.CharField(max_length=100, blank=True)
    webhook_url = models.URLField(max_length=500, blank=True)
    webhook_token_hash = models.CharField(max_length=64, blank=True)
    webhook_note = models.JSONField(null=True, blank=True)  # why refused or failed: a Note
    webhook_registered_at = models.DateTimeField(null=True, blank=True)
    webhook_checked_at = models.DateTimeField(null=True, blank=True)
    last_event_at = models.DateTimeField(null=True, blank=True)
    # Set while a coalesced webhook run is scheduled for received events (`webhooks.py`).
    webhook_run_due_at = models.DateTimeField(null=True, blank=True)
    # Without webhooks: a delta sync (`updated_since`) every `delta_interval` minutes, asking
    # for what changed since `delta_since` (the start of the last applied full or delta run).
    delta_interval = models.PositiveIntegerField(
        _("ask Personio for changes every (minutes)"), default=DEFAULT_DELTA_INTERVAL
    )
    next_delta_at = models.DateTimeField(null=True, blank=True, db_index=True)
    delta_since = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"Personio for {self.company}"

    @property
    def is_connected(self) -> bool:
        return self.status != IntegrationStatus.DISCONNECTED

    @property
    def webhooks_active(self) -> bool:
        return self.webhook_state == WebhookState.ACTIVE

    @property
    def webhook_text(self) -> str:
        """Why webhooks are not active, in the active language ("" when nothing to say)."""
        from benefitsync.integrations.personio.texts import render

        return render(self.webhook_note) if self.webhook_note else ""

    @property
    def has_filter(self) -> bool:
        return bool(self.filter_email_domains or self.filter_company_names or self.filter_opt_in)

    def next_daily_sync(self, after: dt.datetime) -> dt.datetime:
        """The next daily sync time after `after`: the schedule time in the company's zone plus
        a fixed per-company jitter."""
        # Deterministic per company, so hundreds of companies with the same schedule time spread
        # over an hour instead of starting in the same second, and a restart does not reshuffle.
        digest = hashlib.sha256(f"personio-daily-{self.company_id}".encode()).digest()
        jitter = dt.timedelta(minutes=int.from_bytes(digest[:2], "big") % DAILY_SPREAD_MINUTES)
        zone = ZoneInfo(self.company.time_zone)
        local = after.astimezone(zone)
        candidate = dt.datetime.combine(local.date(), self.schedule_time, zone) + jitter
        if candidate <= local:
            candidate = (
                dt.datetime.combine(local.date() + dt.timedelta(days=1), self.schedule_time, zone)
                + jitter
            )
        return candidate.astimezone(dt.UTC)


class Trigger(models.TextChoices):
    DAILY = "daily", _("Daily")
    MANUAL = "manual", _("Synchronize now")
    CONNECT = "connect", _("Connect")
    CONFIRM = "confirm", _("Confirmed held run")
    COMMAND = "command", _("Command line")
    WEBHOOK = "webhook", _("Change announced by Personio")
    DELTA = "delta", _("Changes since the last sync")


class RunKind(models.TextChoices):
    """What a run reads: the whole listing (full: scheduled or on connect; manual: "Synchronize
    now"), what changed since the last run (delta), or the people events named (webhook)."""

    FULL = "full", _("Full")
    MANUAL = "manual", _("Manual")
    DELTA = "delta", _("Delta")
    WEBHOOK = "webhook", _("Webhook")


# Kinds that read every employee Personio delivers: only they may flag people as missing.
COMPLETE_KINDS = (RunKind.FULL, RunKind.MANUAL)


class RunStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    SUCCEEDED = "succeeded", _("Succeeded")
    PARTLY_FAILED = "partly_failed", _("Partly failed")
    FAILED = "failed", _("Failed")
    HELD = "held", _("Held for review")
    DISCARDED = "discarded", _("Discarded")
    INTERRUPTED = "interrupted", _("Interrupted")
    APPLIED = "applied", _("Confirmed and applied")


# The status groups, defined once. A company has at most one run IN_PROGRESS: a partial unique
# index makes that a database fact, so ten "Synchronize now" clicks and the scheduler on several
# machines start one run. APPLIED runs changed the portal (their counts are what happened);
# FINISHED runs will not change any more, except that a HELD run waits for a decision.
IN_PROGRESS = (RunStatus.QUEUED, RunStatus.RUNNING)
APPLIED = (RunStatus.SUCCEEDED, RunStatus.PARTLY_FAILED, RunStatus.APPLIED)
FINISHED = tuple(s for s in RunStatus if s not in IN_PROGRESS)


class SyncRunQuerySet(models.QuerySet["SyncRun"]):
    """The run lifecycle's conditional updates: each moves a run only from the status it
    expects, so two processes never both think they own a run."""

    def in_progress(self, company_id: int) -> SyncRun | None:
        return self.filter(company_id=company_id, status__in=IN_PROGRESS).first()

    def held(self, company_id: int) -> SyncRun | None:
        return self.filter(company_id=company_id, status=RunStatus.HELD).first()

    def applied_complete(self, company_id: int) -> SyncRunQuerySet:
        """The company's applied runs that read everyone Personio delivers, newest first."""
        return self.filter(company_id=company_id, status__in=APPLIED, kind__in=COMPLETE_KINDS)

    def last_remote_total(self, company_id: int) -> int | None:
        """How many employees the last applied complete run read (None before the first)."""
        counts = self.applied_complete(company_id).values_list("counts", flat=True).first()
        total = (counts or {}).get("remote_total")
        return int(total) if total is not None else None

    def claim(self, run_id: int) -> bool:
        """queued → running; False when another worker (or the reaper) was first."""
        now = timezone.now()
        return (
            self.filter(pk=run_id, status=RunStatus.QUEUED).update(
                status=RunStatus.RUNNING, started_at=now, heartbeat_at=now
            )
            == 1
        )

    def heartbeat(self, run_id: int, fetched: int | None = None) -> bool:
        """Renew a running run's lease (and show how many employees were read so far); False
        when the run was taken from us (reaped as interrupted)."""
        changes: dict[str, Any] = {"heartbeat_at": timezone.now()}
        if fetched is not None:
            changes["counts"] = {"fetched": fetched}
        return self.filter(pk=run_id, status=RunStatus.RUNNING).update(**changes) == 1

    def reap_stale(self, *, company_id: int | None = None, now: dt.datetime | None = None) -> int:
        """Mark runs whose worker stopped sending heartbeats (or that nobody claimed within the
        lease) as interrupted, which frees their company."""
        moment = now or timezone.now()
        cutoff = moment - dt.timedelta(seconds=settings.SYNC_LEASE_SECONDS)
        stale = self.filter(
            models.Q(status=RunStatus.RUNNING, heartbeat_at__lt=cutoff)
            | models.Q(status=RunStatus.QUEUED, queued_at__lt=cutoff)
        )
        if company_id is not None:
            stale = stale.filter(company_id=company_id)
        return stale.update(
            status=RunStatus.INTERRUPTED,
            finished_at=moment,
            note={"code": "worker_stopped", "params": {}},
        )


class SyncRun(models.Model):
    """One synchronization of a company: trigger, timing, outcome, counts and, for a held run,
    the plan kept for review."""

    company = models.ForeignKey(
        "companies.Company", on_delete=models.CASCADE, related_name="sync_runs"
    )
    trigger = models.CharField(max_length=20, choices=Trigger.choices)
    kind = models.CharField(max_length=10, choices=RunKind.choices, default=RunKind.FULL)
    # A webhook run: the Personio IDs the events named (read one by one).
    targets = models.JSONField(null=True, blank=True)
    status = models.CharField(
        max_length=20, choices=RunStatus.choices, default=RunStatus.QUEUED, db_index=True
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    queued_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    counts = models.JSONField(default=dict, blank=True)
    requests = models.PositiveIntegerField(default=0)
    rate_limited = models.PositiveIntegerField(default=0)
    attributes = models.JSONField(null=True, blank=True)
    # Why it is held: `texts.Note`s as JSON ({"code", "params"}); older runs hold plain text.
    hold_reasons = models.JSONField(default=list, blank=True)
    plan = models.JSONField(null=True, blank=True)
    # How it ended, for a person to read: a `texts.Note` as JSON; `message` is from before.
    note = models.JSONField(null=True, blank=True)
    message = models.TextField(blank=True)

    objects = SyncRunQuerySet.as_manager()

    class Meta:
        ordering = ["-queued_at", "-id"]
        indexes = [models.Index(fields=["company", "-queued_at"])]
        constraints = [
            models.UniqueConstraint(
                fields=["company"],
                condition=models.Q(status__in=["queued", "running"]),
                name="one_sync_in_progress_per_company",
            )
        ]

    def __str__(self) -> str:
        return f"sync #{self.pk} {self.company_id} {self.status}"

    @property
    def duration(self) -> dt.timedelta | None:
        if self.started_at and self.finished_at:
            return self.finished_at - self.started_at
        return None

    @property
    def complete(self) -> bool:
        """True when the run reads everything Personio delivers (not a delta or webhook run)."""
        return self.kind in COMPLETE_KINDS

    @property
    def applied(self) -> bool:
        """True when this run changed the portal: its counts are what happened, not a plan."""
        return self.status in APPLIED

    @property
    def text(self) -> str:
        """How the run ended, in the active language."""
        from benefitsync.integrations.personio.texts import render

        return render(self.note) if self.note else self.message

    @property
    def hold_texts(self) -> list[str]:
        from benefitsync.integrations.personio.texts import render

        return [render(r) for r in self.hold_reasons or []]

    def finish(self, status: str, **fields: Any) -> bool:
        """running → `status` with `fields`, unless the run was reaped as interrupted meanwhile
        (then a newer run may own the company and this one must not claim an outcome). Updates
        this instance either way; returns whether the database took it."""
        fields["status"] = status
        fields["finished_at"] = timezone.now()
        updated = SyncRun.objects.filter(pk=self.pk, status=RunStatus.RUNNING).update(**fields)
        for name, value in fields.items():
            setattr(self, name, value)
        return updated == 1


class SyncEvent(models.Model):
    """What a run did to one employee (field: old → new), or why it skipped a record.

    Deleted with the employee (GDPR erasure); events without an employee carry only the Personio
    ID and are scrubbed by Personio ID on erasure."""

    run = models.ForeignKey(SyncRun, on_delete=models.CASCADE, related_name="events")
    company = models.ForeignKey("companies.Company", on_delete=models.CASCADE, related_name="+")
    employee = models.ForeignKey(
        "employees.Employee",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="sync_events",
    )
    personio_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    action = models.CharField(max_length=20)
    changes = models.JSONField(default=dict, blank=True)
    message = models.TextField(blank=True)  # before codes: plain English
    # What the action means for a person: a `texts.CATALOGUE` code and its parameters (which
    # include `name`, who the record is, when no portal employee is linked).
    code = models.CharField(max_length=40, blank=True)
    params = models.JSONField(default=dict, blank=True)
    error = models.BooleanField(default=False)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.action} {self.personio_id}"

    @property
    def text(self) -> str:
        from benefitsync.integrations.personio.texts import Note, render

        return render(Note(self.code, self.params)) if self.code else self.message

    @property
    def who(self) -> str:
        """The person: the portal employee, else the name Personio delivered ("" when neither
        is known: pages then show the Personio ID)."""
        if self.employee_id is not None and self.employee is not None:
            return self.employee.full_name
        return str((self.params or {}).get("name") or "")


class WebhookEvent(models.Model):
    """One event Personio announced, as received: dataless (ids only). `run` is the webhook
    run that took it (None: waiting for the next one). Unique per company and event, so a
    delivery Personio repeats is recorded once."""

    company = models.ForeignKey("companies.Company", on_delete=models.CASCADE, related_name="+")
    event_key = models.CharField(max_length=100)
    event_name = models.CharField(max_length=60)
    personio_id = models.BigIntegerField(null=True, blank=True)
    occurred_at = models.DateTimeField(null=True, blank=True)
    received_at = models.DateTimeField(auto_now_add=True)
    run = models.ForeignKey(
        SyncRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="webhook_events"
    )
    attempts = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["company", "event_key"], name="one_event_per_key")
        ]
        indexes = [models.Index(fields=["company", "run"])]

    def __str__(self) -> str:
        return f"{self.event_name} {self.personio_id}"
