"""The schedule: which companies are due, and queueing their runs.

Each company syncs fully once a day at its `schedule_time` in its own time zone, spread over an
hour by a fixed per-company jitter (`PersonioIntegration.next_daily_sync`); its webhook is
checked then too. After a failure the slot backs off (`health.record_failure`). A company
without webhooks also gets a delta run every `delta_interval` minutes. The every-minute task
frees runs of dead workers, restarts lost webhook runs and queues the due companies.
"""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from benefitsync.integrations.personio import webhooks
from benefitsync.integrations.personio.models import (
    IntegrationStatus,
    PersonioIntegration,
    RunKind,
    SyncRun,
    Trigger,
    WebhookState,
)
from benefitsync.integrations.personio.sync import AlreadyRunning, request_sync


def due_integrations(now: dt.datetime) -> list[PersonioIntegration]:
    return list(
        PersonioIntegration.objects.select_related("company").filter(
            status=IntegrationStatus.ACTIVE, next_sync_at__lte=now
        )
    )


def schedule_due(now: dt.datetime | None = None) -> int:
    """Queue the daily sync of every company that is due; returns how many were queued."""
    moment = now or timezone.now()
    queued = 0
    for integration in due_integrations(moment):
        # Move the slot first: a company that is already running is not retried every minute.
        updated = PersonioIntegration.objects.filter(
            pk=integration.pk, next_sync_at=integration.next_sync_at
        ).update(next_sync_at=integration.next_daily_sync(moment))
        if not updated:
            continue  # another scheduler took it
        try:
            run = request_sync(integration.company, Trigger.DAILY, enqueue=False)
        except AlreadyRunning:
            continue
        # One job runs the night's sync and then looks at the webhook (webhooks.nightly).
        webhooks.nightly(run.pk)
        queued += 1
    return queued


def schedule_deltas(now: dt.datetime | None = None) -> int:
    """Queue a delta run of every company without webhooks whose interval has passed; returns
    how many were queued. A company that never applied a run waits for its first full one."""
    moment = now or timezone.now()
    due = PersonioIntegration.objects.select_related("company").filter(
        status=IntegrationStatus.ACTIVE, next_delta_at__lte=moment
    )
    queued = 0
    for integration in due:
        if integration.webhook_state == WebhookState.ACTIVE:
            continue
        updated = PersonioIntegration.objects.filter(
            pk=integration.pk, next_delta_at=integration.next_delta_at
        ).update(next_delta_at=webhooks.next_delta(integration, moment))
        if not updated or integration.delta_since is None:
            continue
        try:
            request_sync(integration.company, Trigger.DELTA, kind=RunKind.DELTA)
            queued += 1
        except AlreadyRunning:
            pass
    return queued


def tick(now: dt.datetime | None = None) -> int:
    """The every-minute work: free runs of dead workers, restart lost webhook runs, then queue
    the due companies (daily, then delta); returns how many runs were queued."""
    SyncRun.objects.reap_stale(now=now)
    webhooks.rescue_stale(now)
    return schedule_due(now) + schedule_deltas(now)
