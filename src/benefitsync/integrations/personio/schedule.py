"""The daily schedule: which companies are due, and queueing their runs.

Each company syncs once a day at its `schedule_time` in its own time zone, spread over an hour
by a fixed per-company jitter (`PersonioIntegration.next_daily_sync`). After a failure the slot
backs off (`health.record_failure`). The every-minute task frees runs of dead workers and
queues the due companies.
"""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from benefitsync.integrations.personio.models import (
    IntegrationStatus,
    PersonioIntegration,
    SyncRun,
    Trigger,
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
            request_sync(integration.company, Trigger.DAILY)
            queued += 1
        except AlreadyRunning:
            pass
    return queued


def tick(now: dt.datetime | None = None) -> int:
    """The every-minute work: free runs of dead workers, then queue the due companies."""
    SyncRun.objects.reap_stale(now=now)
    return schedule_due(now)
