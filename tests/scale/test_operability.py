"""Operability: /health/, /metrics (with and without METRICS_TOKEN), worker heartbeats and the
structured log formats."""

from __future__ import annotations

import datetime as dt
import json
import logging

import pytest
from django.conf import LazySettings
from django.test import Client
from django.utils import timezone
from huey.contrib.djhuey import HUEY

from benefitsync.integrations.personio.models import SyncRun
from benefitsync.lib.logging import ContextFilter, JsonFormatter, PlainFormatter, log_context
from benefitsync.ops import heartbeat
from tests.factories import make_company


@pytest.fixture(autouse=True)
def _no_heartbeats() -> None:
    for beat in heartbeat.beats(HUEY):
        HUEY.storage.delete_data(heartbeat.PREFIX + beat.worker)


def test_health_reports_database_queue_and_workers_without_login(db: None) -> None:
    heartbeat.beat(periodic=True)
    response = Client().get("/health/")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["database"] == "ok"
    assert body["queue"] == "ok"
    assert body["workers_alive"] == 1
    assert body["workers"][0]["periodic"] is True


def test_health_is_503_when_the_database_is_down(db: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("benefitsync.ops.views.check_database", lambda: "OperationalError")
    response = Client().get("/health/")
    assert response.status_code == 503
    assert response.json()["status"] == "error"


def test_stale_heartbeat_is_not_alive_and_a_day_old_one_is_forgotten(db: None) -> None:
    now = 1_000_000.0
    for age, pid in ((5, 1), (120, 2), (2 * 86400, 3)):
        HUEY.storage.put_data(
            f"{heartbeat.PREFIX}host:{pid}",
            json.dumps({"host": "host", "pid": pid, "at": now - age}).encode(),
        )
    beats = heartbeat.beats(HUEY, now=now)
    assert [(b.pid, b.alive(now)) for b in beats] == [(1, True), (2, False)]


def test_metrics_count_runs_by_outcome_durations_changes_and_429s(db: None) -> None:
    company = make_company()
    now = timezone.now()
    SyncRun.objects.create(
        company=company,
        trigger="daily",
        status="succeeded",
        started_at=now - dt.timedelta(seconds=3),
        finished_at=now,
        counts={"created": 7, "updated": 2, "unchanged": 90},
        requests=12,
        rate_limited=1,
    )
    SyncRun.objects.create(
        company=company,
        trigger="manual",
        status="failed",
        started_at=now - dt.timedelta(seconds=40),
        finished_at=now - dt.timedelta(seconds=1),
        requests=3,
    )
    old = SyncRun.objects.create(company=company, trigger="daily", status="succeeded")
    SyncRun.objects.filter(pk=old.pk).update(finished_at=now - dt.timedelta(days=2), requests=99)

    # Queued, not run: Huey runs jobs on enqueue in immediate mode, which a test process started
    # by pytest-xdist inherits from the controller's environment (tests/conftest.py).
    immediate = HUEY.immediate
    HUEY.immediate = False
    try:
        HUEY.flush()  # jobs other tests queued (no worker runs here) are not this test's business
        HUEY.enqueue(HUEY.task()(lambda: None).s())
        response = Client().get("/metrics")
        HUEY.flush()
    finally:
        HUEY.immediate = immediate
    assert response.status_code == 200
    text = response.content.decode()
    assert 'benefitsync_sync_runs_24h{outcome="succeeded"} 1.0' in text
    assert 'benefitsync_sync_runs_24h{outcome="failed"} 1.0' in text
    assert 'benefitsync_sync_run_duration_24h_seconds_bucket{le="5.0"} 1.0' in text
    assert 'benefitsync_sync_run_duration_24h_seconds_bucket{le="+Inf"} 2.0' in text
    assert 'benefitsync_sync_employees_changed_24h{change="created"} 7.0' in text
    assert "benefitsync_personio_requests_24h 15.0" in text
    assert "benefitsync_personio_rate_limited_24h 1.0" in text
    assert "benefitsync_queue_depth 1.0" in text
    assert 'benefitsync_metrics_up{source="database"} 1.0' in text


def test_metrics_require_the_bearer_token_when_one_is_set(db: None, settings: LazySettings) -> None:
    settings.METRICS_TOKEN = "s3cret-token"
    client = Client()
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 401
    ok = client.get("/metrics", HTTP_AUTHORIZATION="Bearer s3cret-token")
    assert ok.status_code == 200
    assert b"benefitsync_sync_runs_24h" in ok.content


def _record(message: str, **extra: object) -> logging.LogRecord:
    record = logging.LogRecord("benefitsync.test", logging.INFO, __file__, 1, message, None, None)
    for key, value in extra.items():
        setattr(record, key, value)
    ContextFilter().filter(record)
    return record


def test_log_lines_carry_the_bound_company_and_run_ids_in_both_formats() -> None:
    with log_context(company_id=7, run_id=42):
        record = _record("sync applied")
    entry = json.loads(JsonFormatter().format(record))
    assert entry["message"] == "sync applied"
    assert (entry["company_id"], entry["run_id"]) == (7, 42)
    assert PlainFormatter().format(record).endswith("sync applied company=7 run=42")
    outside = _record("idle")
    assert json.loads(JsonFormatter().format(outside))["run_id"] is None
    assert PlainFormatter().format(outside).endswith("idle")


def test_explicit_extra_ids_win_over_the_bound_ones() -> None:
    with log_context(company_id=7, run_id=42):
        record = _record("other run", run_id=43, attempt=2)
    entry = json.loads(JsonFormatter().format(record))
    assert (entry["company_id"], entry["run_id"], entry["attempt"]) == (7, 43, 2)
