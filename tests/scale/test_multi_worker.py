"""Scale mode for real: two `benefitsync run_huey` processes on PostgreSQL and Redis run a daily
cycle of 200 companies against the Personio sandbox; every company syncs exactly once and no two
runs of one company overlap.

It runs in the PostgreSQL pass of `make test` (DATABASE_URL points at PostgreSQL) on that server,
in a database of its own that it creates and drops; `SCALE_TEST_DATABASE_URL` runs it anywhere.
Unreachable PostgreSQL or Redis skips it with the reason, except under CI=true, where it fails.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import os
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.scale.cluster import (
    DEFAULT_REDIS,
    REPO,
    Cluster,
    postgres_unreachable,
    redis_unreachable,
)

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.slow]

COMPANIES = 200
EMPLOYEES = 20  # every company reads the whole (small) sandbox through the shared credential
FINISH_TIMEOUT = 150.0


def _unavailable(reason: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason} (CI=true: the scale test must run)")
    pytest.skip(reason)


def _pg_server_url() -> str | None:
    explicit = os.environ.get("SCALE_TEST_DATABASE_URL", "")
    if explicit:
        return explicit
    url = os.environ.get("DATABASE_URL", "")
    return url if url.startswith(("postgres://", "postgresql://")) else None


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    pg = _pg_server_url()
    if pg is None:
        pytest.skip(
            "the multi-worker test runs in the PostgreSQL pass of `make test` "
            "(set DATABASE_URL or SCALE_TEST_DATABASE_URL to a postgres:// URL to run it here)"
        )
    redis_url = os.environ.get("SCALE_TEST_REDIS_URL", DEFAULT_REDIS)
    for problem in (postgres_unreachable(pg), redis_unreachable(redis_url)):
        if problem:
            _unavailable(problem)
    with Cluster(
        pg_server_url=pg, redis_url=redis_url, data_dir=tmp_path / "cluster", worker_threads=3
    ) as running:
        yield running


def _health(cluster: Cluster, *args: str) -> tuple[int, dict[str, object]]:
    out = subprocess.run(
        [sys.executable, "-m", "benefitsync", "health", *args],
        env=cluster.env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return out.returncode, json.loads(out.stdout)


def _wait_for_workers(cluster: Cluster, count: int, timeout: float = 60) -> dict[str, object]:
    deadline = time.monotonic() + timeout
    while True:
        code, body = _health(cluster, "--worker")
        workers = body.get("workers", [])
        assert isinstance(workers, list)
        if code == 0 and sum(1 for w in workers if w["alive"]) >= count:
            return body
        if time.monotonic() > deadline:
            raise AssertionError(f"workers did not report healthy: {body}")
        time.sleep(0.5)


def _run_concurrently(cluster: Cluster, *commands: str) -> list[dict[str, int]]:
    """Start one driver process per command at once (as on several machines); their results."""
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.scale.driver", command],
            env=cluster.env,
            cwd=REPO,
            stdout=subprocess.PIPE,
            text=True,
        )
        for command in commands
    ]
    results = []
    for proc in procs:
        stdout, _ = proc.communicate(timeout=120)
        assert proc.returncode == 0
        results.append(json.loads(stdout.strip().splitlines()[-1]))
    return results


Run = tuple[int, str, str, dt.datetime, dt.datetime, dict[str, int]]


def _runs(cluster: Cluster, since: dt.datetime | None = None) -> list[Run]:
    rows = cluster.query(
        "SELECT id, company_id, status, trigger, started_at, finished_at, counts "
        "FROM personio_syncrun WHERE queued_at >= %s ORDER BY company_id, started_at",
        [since or dt.datetime(2000, 1, 1, tzinfo=dt.UTC)],
    )
    runs = []
    for _id, company_id, status, trigger, started, finished, counts in rows:
        assert status in ("succeeded", "partly_failed"), (company_id, status)
        assert started is not None and finished is not None and started <= finished
        runs.append((company_id, status, trigger, started, finished, counts))
    return runs


def _assert_no_overlap(runs: list[Run]) -> None:
    by_company: dict[int, list[tuple[dt.datetime, dt.datetime]]] = defaultdict(list)
    for company_id, _status, _trigger, started, finished, _counts in runs:
        by_company[company_id].append((started, finished))
    for company_id, intervals in by_company.items():
        intervals.sort()
        for (_, end), (start, _) in itertools.pairwise(intervals):
            assert start >= end, f"two runs of company {company_id} overlapped"


def test_two_workers_sync_each_of_200_companies_exactly_once_without_overlap(
    cluster: Cluster,
) -> None:
    base_url = cluster.start_sandbox(employees=EMPLOYEES, extra=["--rate-limit", "off"])
    assert cluster.driver("setup", "--companies", str(COMPANIES), "--base-url", base_url) == {
        "companies": COMPANIES
    }
    cluster.start_workers(2)
    health = _wait_for_workers(cluster, 2)
    assert [w["periodic"] for w in health["workers"]].count(True) == 1  # type: ignore[union-attr]

    # Cycle 1, the daily cycle: every company becomes due; two schedulers race for it (as on two
    # machines) while the worker with the periodic task may run its own every-minute pass too.
    assert cluster.driver("make-due") == {"due": COMPANIES}
    results = _run_concurrently(cluster, "schedule", "schedule")
    took = cluster.wait_until_finished(COMPANIES, FINISH_TIMEOUT)
    assert sum(r["queued"] for r in results) <= COMPANIES
    # Nothing is due any more: a scheduler pass now queues nothing.
    assert cluster.driver("schedule") == {"queued": 0}

    first = _runs(cluster)
    assert {r[2] for r in first} == {"daily"}
    per_company = defaultdict(int)
    for company_id, _status, _trigger, _started, _finished, counts in first:
        per_company[company_id] += 1
        assert counts["created"] + counts["skipped"] == EMPLOYEES
    assert len(per_company) == COMPANIES
    assert set(per_company.values()) == {1}, "a company synced more than once in the cycle"
    employees = dict(
        cluster.query("SELECT company_id, count(*) FROM employees_employee GROUP BY company_id")
    )
    assert len(employees) == COMPANIES
    assert len(set(employees.values())) == 1  # no company got duplicates from a second run

    # Cycle 2: the next daily cycle while HR admins press "Synchronize now" everywhere at once.
    # A click while the daily run is queued or running is refused, the scheduler skips a company
    # whose manual run is in progress, and a later click starts a second run after the first.
    (cycle_2_start,) = cluster.query("SELECT now()")[0]
    assert cluster.driver("make-due") == {"due": COMPANIES}
    results = _run_concurrently(cluster, "schedule", "request-manual", "schedule")
    queued = sum(r["queued"] for r in results)
    cluster.wait_until_finished(COMPANIES + queued, FINISH_TIMEOUT)
    second = _runs(cluster, since=cycle_2_start)
    assert len(second) == queued
    triggers: dict[int, list[str]] = defaultdict(list)
    for company_id, _status, trigger, _started, _finished, counts in second:
        triggers[company_id].append(trigger)
        assert counts["employees_written"] == 0  # Personio unchanged: nothing written
    assert len(triggers) == COMPANIES, "a company was not synchronized in cycle 2"
    for company_triggers in triggers.values():
        assert company_triggers.count("daily") <= 1
        assert company_triggers.count("manual") <= 1
    _assert_no_overlap(first + second)

    # Both processes did real work, and no job ran twice.
    executed = cluster.executed_per_worker()
    print(
        f"cycle 1: {COMPANIES} companies in {took:.1f} s; cycle 2: {queued} runs; "
        f"runs per worker {executed}"
    )
    assert sum(executed) == COMPANIES + queued, executed
    assert all(n > 0 for n in executed), executed
