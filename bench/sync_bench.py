"""Sync benchmark: a company of N employees against the no-latency sandbox (separate process).

Measures the first sync (into a fresh company each time), an unchanged re-sync and a re-sync
with 10 changes — wall time, employee rows written, SQL queries and the peak RSS of each phase
(sampled) — each `--repeat` times right after a bare fetch by the client, and reports medians:
the ratio of each pair, so the noise of this shared machine hits both sides. "CPU x" is the same
ratio for this process's CPU time, which neighbours on the machine disturb far less (it leaves
out the PostgreSQL server's work). Prints a table.

    .venv/bin/python bench/sync_bench.py --employees 10000 [--repeat 3] [--database-url ...]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import threading
import time
from collections.abc import Callable
from statistics import median
from typing import Any, NamedTuple

import psutil

from benefitsync.integrations.personio.sandbox.server import sandbox_process
from sandbox_company import connected_company


class PeakRss:
    """Samples this process's RSS every 20 ms while a phase runs."""

    def __init__(self) -> None:
        self.peak = 0
        self._stop = threading.Event()
        self._proc = psutil.Process()

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self._proc.memory_info().rss)
            time.sleep(0.02)

    def __enter__(self) -> PeakRss:
        self.peak = self._proc.memory_info().rss
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._proc.memory_info().rss)


class Measured(NamedTuple):
    wall: float
    cpu: float  # this process's CPU seconds (all threads; not the database server's)
    queries: int
    rss: int
    result: Any


def measure(fn: Callable[[], Any]) -> Measured:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with PeakRss() as rss, CaptureQueriesContext(connection) as queries:
        cpu = time.process_time()
        start = time.perf_counter()
        result = fn()
        wall = time.perf_counter() - start
        cpu = time.process_time() - cpu
    return Measured(wall, cpu, len(queries), rss.peak, result)


class Row(NamedTuple):
    label: str
    wall: float
    ratio: float  # median of (phase wall / the bare fetch right before it)
    cpu_ratio: float  # the same for this process's CPU time
    written: str
    queries: int
    rss: int
    # Median CPU seconds of this process for the phase: the ratios above shrink or grow with the
    # bare fetch's own cost, this does not (a cheaper client raises "CPU x" of the same sync).
    cpu: float = 0.0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--employees", type=int, default=10_000)
    parser.add_argument("--database-url", default="")
    parser.add_argument("--changes", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    data_dir = tempfile.mkdtemp(prefix="benefitsync-bench-")
    os.environ["BENEFITSYNC_DATA_DIR"] = data_dir
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "benefitsync.settings")
    if args.database_url:
        os.environ["DATABASE_URL"] = args.database_url
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection

    if args.database_url:
        # A fresh database for the run: drop our tables by flushing after migrate.
        call_command("migrate", verbosity=0)
        call_command("flush", "--noinput", verbosity=0)
    else:
        call_command("migrate", verbosity=0)
    settings.DEBUG = False
    # The sandbox runs without rate limits, and so must the client: with its default limiter
    # (Personio's 15/s and 300/min) every phase of a 100k company would take >= 3.4 minutes of
    # waiting and the table would measure the limiter, not the sync.
    from benefitsync.integrations.personio.ratelimit import RateLimiter, Window

    settings.PERSONIO_CLIENT_OPTIONS = {
        **settings.PERSONIO_CLIENT_OPTIONS,
        "limiter": RateLimiter([Window(1_000_000, 1.0)]),
    }

    from benefitsync.companies.models import Company
    from benefitsync.integrations.personio import sync
    from benefitsync.integrations.personio.client import Credentials

    rows: list[Row] = []
    with sandbox_process(employees=args.employees, options=["--rate-limit", "off"]) as base_url:
        import httpx

        company: Any = None

        def new_company() -> None:
            """A fresh, empty portal company connected to the sandbox (for a first sync)."""
            nonlocal company
            n = Company.objects.count()
            company = connected_company(f"Bench {n}", f"bench-{os.getpid()}-{n}", base_url)

        def bare_fetch() -> int:
            with sync.client_for(
                Credentials("sandbox-client-id", "sandbox-client-secret"), base_url
            ) as client:
                return sum(1 for _ in client.iter_employees())

        def run_sync() -> Any:
            run = sync.request_sync(company, "command", enqueue=False)
            run = sync.execute_run(run.pk)
            assert run.status in ("succeeded", "partly_failed"), (run.status, run.text)
            return run

        # A few hundred employees to pick from, not the whole list: the list of a 100k company
        # would raise this process's RSS before the measured phases.
        listing = httpx.get(
            f"{base_url}/sandbox/employees", params={"limit": 50 * args.changes}, timeout=60
        ).json()
        items = listing if isinstance(listing, list) else listing.get("data", listing)
        to_change = [e for e in items if e.get("email") and not e.get("termination_date")]
        edits = 0

        def change_some() -> None:
            """Change `args.changes` employees in the sandbox through its control API."""
            nonlocal edits
            edits += 1
            for e in to_change[: args.changes]:
                httpx.patch(
                    f"{base_url}/sandbox/employees/{e['id']}",
                    json={"last_name": f"{e['last_name']}-{edits}"},
                    timeout=10,
                ).raise_for_status()

        def paired(label: str, phase: Callable[[], Any], before: Callable[[], None]) -> None:
            """`args.repeat` times: a bare fetch, then the phase right after it; the ratio of
            each pair, so a slow minute of this shared machine hits both sides."""
            walls: list[float] = []
            ratios: list[float] = []
            cpu_ratios: list[float] = []
            cpus: list[float] = []
            peak, written, queries = 0, "", 0
            for _ in range(args.repeat):
                before()
                bare = measure(bare_fetch)
                rows.append(
                    Row("bare", bare.wall, 1.0, 1.0, f"{bare.result} read", 0, bare.rss, bare.cpu)
                )
                m = measure(phase)
                walls.append(m.wall)
                ratios.append(m.wall / bare.wall)
                cpu_ratios.append(m.cpu / bare.cpu)
                cpus.append(m.cpu)
                peak, queries = max(peak, m.rss), m.queries
                written = str(m.result.counts["employees_written"])
            ratio, cpu_ratio = median(ratios), median(cpu_ratios)
            rows.append(
                Row(label, median(walls), ratio, cpu_ratio, written, queries, peak, median(cpus))
            )

        new_company()
        paired("first sync", run_sync, new_company)
        paired("unchanged re-sync", run_sync, lambda: None)
        paired(f"re-sync, {args.changes} changed", run_sync, change_some)

    bare = [r for r in rows if r.label == "bare"]
    phases = [r for r in rows if r.label != "bare"]
    vendor = connection.vendor
    print(
        f"\nSync benchmark: {args.employees} employees, {vendor}, sandbox without latency; "
        f"medians of {args.repeat} runs, each phase right after a bare fetch"
    )
    print(
        f"{'phase':<28} {'wall s':>8} {'x fetch':>8} {'CPU x':>6} {'rows written':>13} "
        f"{'queries':>8} {'peak RSS MB':>12} {'CPU s':>6}"
    )
    fetch_row = Row(
        "bare fetch (client only)",
        median([r.wall for r in bare]),
        1.0,
        1.0,
        bare[0].written,
        0,
        bare[0].rss,  # the first: later ones carry what the syncs left in the heap
        median([r.cpu for r in bare]),
    )
    for r in [fetch_row, *phases]:
        print(
            f"{r.label:<28} {r.wall:>8.2f} {r.ratio:>8.2f} {r.cpu_ratio:>6.2f} {r.written:>13} "
            f"{r.queries:>8} {r.rss / 2**20:>12.0f} {r.cpu:>6.2f}"
        )
    print(f"bare fetch walls: {', '.join(f'{r.wall:.2f}' for r in bare)} s")


if __name__ == "__main__":
    main()
