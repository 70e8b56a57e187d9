"""Prometheus metrics, computed at scrape time from the database and the job queue.

Why not counters incremented in the worker: syncs run in any number of worker processes on any
number of machines, and `/metrics` is answered by any web process. Reading the `SyncRun` records
and the queue makes every web process report the same, cluster-wide numbers, with no metrics
state of its own. The run metrics therefore cover a sliding window of `WINDOW` (24 h, one daily
cycle) and are gauges: alert on `benefitsync_sync_runs_24h{outcome="failed"} > 0`, chart p95 with
`histogram_quantile(0.95, benefitsync_sync_run_duration_24h_seconds_bucket)`.

| metric | what |
| --- | --- |
| `benefitsync_sync_runs_24h{outcome}` | runs finished in the window, by outcome |
| `benefitsync_sync_runs_in_progress{status}` | runs queued / running now |
| `benefitsync_sync_oldest_queued_seconds` | age of the oldest queued run (0: none) |
| `benefitsync_sync_run_duration_24h_seconds` | histogram of run durations (started → finished) |
| `benefitsync_sync_employees_changed_24h{change}` | created, updated, leaving, … summed |
| `benefitsync_personio_requests_24h` | HTTP requests to Personio by the runs |
| `benefitsync_personio_rate_limited_24h` | of those, answered 429 |
| `benefitsync_queue_depth` | jobs waiting in the Huey queue |
| `benefitsync_workers_alive` | worker processes with a fresh heartbeat |
| `benefitsync_worker_heartbeat_age_seconds{worker}` | per worker, seconds since its last beat |
| `benefitsync_integrations{status}` | Personio integrations by status |
| `benefitsync_metrics_up{source}` | 1 when the database / queue could be read |
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import Counter
from collections.abc import Iterator

from django.db.models import Count, Min, Sum
from django.utils import timezone
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily, Metric

from benefitsync.integrations.personio.models import (
    IN_PROGRESS,
    PersonioIntegration,
    RunStatus,
    SyncRun,
)
from benefitsync.ops import heartbeat

log = logging.getLogger(__name__)

WINDOW = dt.timedelta(hours=24)
DURATION_BUCKETS = (1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0)
# Keys of SyncRun.counts exported as "employees changed" (the rest are totals, not changes).
CHANGE_KEYS = (
    "created",
    "updated",
    "leaving",
    "undone_leaving",
    "flagged_missing",
    "unflagged",
    "invited",
    "skipped",
    "errors",
)
FINISHED = [s.value for s in RunStatus if s not in IN_PROGRESS]


def queue_depth() -> int:
    from huey.contrib.djhuey import HUEY

    return int(HUEY.pending_count())


def duration_buckets(durations: list[float]) -> list[tuple[str, float]]:
    """Cumulative buckets in Prometheus' exposition order (last: +Inf)."""
    result = []
    for bound in DURATION_BUCKETS:
        result.append((repr(bound), float(sum(1 for d in durations if d <= bound))))
    result.append(("+Inf", float(len(durations))))
    return result


class BenefitsyncCollector:
    """Reads the sync runs, integrations, queue and heartbeats on every collect()."""

    def __init__(self, now: dt.datetime | None = None) -> None:
        self._now = now

    def collect(self) -> Iterator[Metric]:
        now = self._now or timezone.now()
        db_up = GaugeMetricFamily(
            "benefitsync_metrics_up", "1 when the source could be read", labels=["source"]
        )
        try:
            yield from self._runs(now)
            db_up.add_metric(["database"], 1)
        except Exception:
            log.exception("metrics: could not read the database")
            db_up.add_metric(["database"], 0)
        try:
            yield from self._queue()
            db_up.add_metric(["queue"], 1)
        except Exception:
            log.exception("metrics: could not read the job queue")
            db_up.add_metric(["queue"], 0)
        yield db_up

    def _runs(self, now: dt.datetime) -> Iterator[Metric]:
        since = now - WINDOW
        recent = SyncRun.objects.filter(finished_at__gte=since, status__in=FINISHED)

        by_outcome = GaugeMetricFamily(
            "benefitsync_sync_runs_24h",
            "Sync runs finished in the last 24 hours, by outcome",
            labels=["outcome"],
        )
        counted = dict(
            recent.order_by()
            .values_list("status")
            .annotate(n=Count("id"))
            .values_list("status", "n")
        )
        for outcome in FINISHED:
            by_outcome.add_metric([outcome], counted.get(outcome, 0))
        yield by_outcome

        in_progress = GaugeMetricFamily(
            "benefitsync_sync_runs_in_progress",
            "Sync runs queued or running now",
            labels=["status"],
        )
        current = dict(
            SyncRun.objects.filter(status__in=IN_PROGRESS)
            .order_by()
            .values_list("status")
            .annotate(n=Count("id"))
            .values_list("status", "n")
        )
        for status in IN_PROGRESS:
            in_progress.add_metric([status.value], current.get(status.value, 0))
        yield in_progress

        oldest = SyncRun.objects.filter(status=RunStatus.QUEUED).aggregate(m=Min("queued_at"))["m"]
        yield GaugeMetricFamily(
            "benefitsync_sync_oldest_queued_seconds",
            "Age of the oldest queued sync run in seconds (0: none queued)",
            value=0.0 if oldest is None else max(0.0, (now - oldest).total_seconds()),
        )

        durations: list[float] = []
        changes: Counter[str] = Counter()
        # One pass over the window's runs (a few per company and day): values only, no models.
        for started, finished, counts in recent.values_list(
            "started_at", "finished_at", "counts"
        ).iterator(chunk_size=2000):
            if started is not None and finished is not None:
                durations.append(max(0.0, (finished - started).total_seconds()))
            if isinstance(counts, dict):
                for key in CHANGE_KEYS:
                    value = counts.get(key)
                    if isinstance(value, int):
                        changes[key] += value
        buckets = duration_buckets(durations)
        yield HistogramMetricFamily(
            "benefitsync_sync_run_duration_24h_seconds",
            "Duration of the sync runs finished in the last 24 hours",
            buckets=buckets,
            sum_value=sum(durations),
        )
        changed = GaugeMetricFamily(
            "benefitsync_sync_employees_changed_24h",
            "Employee changes made (or skipped) by the runs of the last 24 hours",
            labels=["change"],
        )
        for key in CHANGE_KEYS:
            changed.add_metric([key], changes[key])
        yield changed

        totals = recent.aggregate(requests=Sum("requests"), limited=Sum("rate_limited"))
        yield GaugeMetricFamily(
            "benefitsync_personio_requests_24h",
            "HTTP requests to Personio made by the runs of the last 24 hours",
            value=totals["requests"] or 0,
        )
        yield GaugeMetricFamily(
            "benefitsync_personio_rate_limited_24h",
            "Requests to Personio answered 429 (rate limited) in the last 24 hours",
            value=totals["limited"] or 0,
        )

        integrations = GaugeMetricFamily(
            "benefitsync_integrations", "Personio integrations by status", labels=["status"]
        )
        by_status = dict(
            PersonioIntegration.objects.order_by()
            .values_list("status")
            .annotate(n=Count("id"))
            .values_list("status", "n")
        )
        for value, _label in PersonioIntegration._meta.get_field("status").choices or []:
            integrations.add_metric([str(value)], by_status.get(value, 0))
        yield integrations

    def _queue(self) -> Iterator[Metric]:
        yield GaugeMetricFamily(
            "benefitsync_queue_depth", "Jobs waiting in the job queue", value=queue_depth()
        )
        beats = heartbeat.beats()
        alive = [b for b in beats if b.alive()]
        yield GaugeMetricFamily(
            "benefitsync_workers_alive",
            "Worker processes with a heartbeat younger than 60 s",
            value=len(alive),
        )
        ages = GaugeMetricFamily(
            "benefitsync_worker_heartbeat_age_seconds",
            "Seconds since each worker's last heartbeat",
            labels=["worker"],
        )
        for b in beats:
            ages.add_metric([b.worker], b.age())
        yield ages


def render(now: dt.datetime | None = None) -> bytes:
    """The metrics in Prometheus' text format (a fresh registry: nothing kept between scrapes)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(BenefitsyncCollector(now))
    return bytes(generate_latest(registry))
