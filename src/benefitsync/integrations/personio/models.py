"""The Personio integration of a company, its sync runs and what each run did."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

DEFAULT_PERSONNEL_NUMBER_LABELS = ("Personnel number", "Personalnummer")
DEFAULT_MARITAL_STATUS_LABELS = ("Married?", "Verheiratet?", "Marital status", "Familienstand")
DEFAULT_OPT_IN_LABEL = "Probonio Filter"


class IntegrationStatus(models.TextChoices):
    ACTIVE = "active", _("Integration active")
    NEEDS_RECONNECT = "needs_reconnect", _("Needs reconnecting")
    PAUSED = "paused", _("Paused")
    DISCONNECTED = "disconnected", _("Disconnected")


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

    def __str__(self) -> str:
        return f"Personio for {self.company}"

    @property
    def is_connected(self) -> bool:
        return self.status != IntegrationStatus.DISCONNECTED

    @property
    def has_filter(self) -> bool:
        return bool(self.filter_email_domains or self.filter_company_names or self.filter_opt_in)


class Trigger(models.TextChoices):
    DAILY = "daily", _("Daily")
    MANUAL = "manual", _("Synchronize now")
    CONNECT = "connect", _("Connect")
    CONFIRM = "confirm", _("Confirmed held run")
    COMMAND = "command", _("Command line")


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


# A company has at most one run in these states: a partial unique index makes that a database
# fact, so ten "Synchronize now" clicks and the scheduler on several machines start one run.
IN_PROGRESS = (RunStatus.QUEUED, RunStatus.RUNNING)


class SyncRun(models.Model):
    """One synchronization of a company: trigger, timing, outcome, counts and, for a held run,
    the plan kept for review."""

    company = models.ForeignKey(
        "companies.Company", on_delete=models.CASCADE, related_name="sync_runs"
    )
    trigger = models.CharField(max_length=20, choices=Trigger.choices)
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
    hold_reasons = models.JSONField(default=list, blank=True)
    plan = models.JSONField(null=True, blank=True)
    message = models.TextField(blank=True)

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
    message = models.TextField(blank=True)
    error = models.BooleanField(default=False)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.action} {self.personio_id}"
