"""Huey tasks of the Personio integration. Thin: they take ids and call a service."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.utils import timezone
from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from benefitsync.integrations.personio import services, sync
from benefitsync.integrations.personio.models import RunStatus, SyncRun


@db_task(priority=10)
def run_sync(run_id: int) -> None:
    """Carry out one queued sync run."""
    sync.execute_run(run_id)


@db_periodic_task(crontab(minute="*"))
def schedule_daily_syncs() -> None:
    """Every minute: free runs of dead workers, then queue each company whose daily slot came."""
    sync.reap_stale_runs()
    services.schedule_due()


@db_periodic_task(crontab(hour="4", minute="17"))
def purge_old_runs() -> None:
    """Sync runs are kept SYNC_RUN_RETENTION_DAYS; held runs wait for a decision."""
    cutoff = timezone.now() - dt.timedelta(days=settings.SYNC_RUN_RETENTION_DAYS)
    SyncRun.objects.filter(queued_at__lt=cutoff).exclude(status=RunStatus.HELD).delete()
