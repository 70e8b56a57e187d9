"""Ten simultaneous "Synchronize now" plus the scheduler for one company: exactly one run."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from benefitsync.companies.models import Company
from benefitsync.integrations.personio import reconcile as rc
from benefitsync.integrations.personio import schedule, sync
from benefitsync.integrations.personio.models import IntegrationStatus, PersonioIntegration, SyncRun
from benefitsync.integrations.personio.sync.guard import hold
from benefitsync.integrations.personio.sync.run import _fail
from benefitsync.integrations.personio.texts import Note
from benefitsync.lib import crypto


@pytest.mark.django_db(transaction=True)
def test_ten_clicks_and_the_scheduler_at_once_start_exactly_one_run(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The race is about who queues the run; the job the scheduler hands it to is recorded, not
    # run (with Huey immediate it would run in the scheduler's thread and call Personio).
    handed: list[int] = []
    monkeypatch.setattr(schedule.webhooks, "nightly", handed.append)
    company = Company.objects.create(name="Race GmbH", slug="race")
    PersonioIntegration.objects.create(
        company=company,
        status=IntegrationStatus.ACTIVE,
        client_id="id",
        client_secret_encrypted=crypto.encrypt("secret"),
        next_sync_at=timezone.now() - timedelta(minutes=1),
    )
    barrier = threading.Barrier(11)
    outcomes: list[str] = []
    lock = threading.Lock()

    def click() -> None:
        barrier.wait()
        try:
            sync.request_sync(company, "manual", enqueue=False)
            result = "queued"
        except sync.AlreadyRunning:
            result = "already running"
        finally:
            connection.close()
        with lock:
            outcomes.append(result)

    def scheduler() -> None:
        barrier.wait()
        try:
            queued = schedule.schedule_due()
        finally:
            connection.close()
        with lock:
            outcomes.append("scheduled" if queued else "not scheduled")

    threads = [threading.Thread(target=click) for _ in range(10)]
    threads.append(threading.Thread(target=scheduler))
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert SyncRun.objects.filter(company=company).count() == 1
    assert outcomes.count("queued") + outcomes.count("scheduled") == 1
    assert outcomes.count("already running") + outcomes.count("not scheduled") == 10
    assert len(handed) == outcomes.count("scheduled")


@pytest.mark.django_db
def test_a_reaped_run_records_no_outcome_over_interrupted(settings: object) -> None:
    company = Company.objects.create(name="Slow GmbH", slug="slow")
    integration = PersonioIntegration.objects.create(
        company=company,
        status=IntegrationStatus.ACTIVE,
        client_id="id",
        client_secret_encrypted=crypto.encrypt("secret"),
    )
    run = sync.request_sync(company, "manual", enqueue=False)
    assert SyncRun.objects.claim(run.pk)
    run.refresh_from_db()
    # The lease ran out while this worker was still busy: the run is reaped.
    assert SyncRun.objects.reap_stale(now=timezone.now() + timedelta(days=1)) == 1
    held = hold(run, integration, rc.Plan(), [Note("empty_listing")])
    assert held.status == "interrupted"
    failed = _fail(run, integration, RuntimeError("boom"))
    assert failed.status == "interrupted"
    assert SyncRun.objects.get(pk=run.pk).status == "interrupted"
