"""Huey tasks of the Personio integration. Thin: they take ids and call a service."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.utils import timezone
from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from benefitsync.integrations.personio import schedule
from benefitsync.integrations.personio.models import RunStatus, SyncRun, WebhookEvent

# The job that carries out a queued run lives with the run (`sync/run.py`), which enqueues it;
# named here so every task of the app is found in this module.
from benefitsync.integrations.personio.sync.run import run_sync as run_sync
from benefitsync.integrations.personio.webhooks import nightly as nightly
from benefitsync.integrations.personio.webhooks import run_events as run_events


@db_periodic_task(crontab(minute="*"))
def schedule_daily_syncs() -> None:
    """Every minute: free runs of dead workers, restart lost webhook runs, then queue each
    company whose daily slot or delta interval came."""
    schedule.tick()


@db_periodic_task(crontab(hour="4", minute="17"))
def purge_old_runs() -> None:
    """Sync runs are kept SYNC_RUN_RETENTION_DAYS; held runs wait for a decision."""
    cutoff = timezone.now() - dt.timedelta(days=settings.SYNC_RUN_RETENTION_DAYS)
    SyncRun.objects.filter(queued_at__lt=cutoff).exclude(status=RunStatus.HELD).delete()
    WebhookEvent.objects.filter(received_at__lt=cutoff).delete()
