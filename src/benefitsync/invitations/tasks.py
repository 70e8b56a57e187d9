"""Huey tasks of the invitations app. Thin: they call the outbox."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from benefitsync.invitations import outbox


@db_task(priority=20)
def send_outbox() -> int:
    """Send what is queued now (enqueued after an invitation commits)."""
    return outbox.send_pending()


@db_periodic_task(crontab(minute="*"))
def send_outbox_periodic() -> int:
    """Every minute: the safety net for kicks that were lost and for retries after errors."""
    return outbox.send_pending()
