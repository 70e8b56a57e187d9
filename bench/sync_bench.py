"""Sync benchmark: a company of N employees against the no-latency sandbox (separate process).

Measures, in one run so the numbers compare as ratios: the client's bare fetch, the first sync,
an unchanged re-sync and a re-sync with 10 changes — wall time, employee rows written, SQL
queries and the peak RSS of each phase (sampled). Prints a table.

    .venv/bin/python bench/sync_bench.py --employees 10000 [--database-url postgres://...]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import threading
import time
from collections.abc import Callable
from typing import Any

import psutil

from benefitsync.integrations.personio.sandbox.server import sandbox_process


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


def measure(fn: Callable[[], Any]) -> tuple[float, int, int, Any]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with PeakRss() as rss, CaptureQueriesContext(connection) as queries:
        start = time.perf_counter()
        result = fn()
        wall = time.perf_counter() - start
    return wall, len(queries), rss.peak, result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--employees", type=int, default=10_000)
    parser.add_argument("--database-url", default="")
    parser.add_argument("--changes", type=int, default=10)
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
    from benefitsync.integrations.personio import services, sync
    from benefitsync.integrations.personio.client import Credentials

    rows: list[tuple[str, float, int | str, int, int]] = []
    with sandbox_process(employees=args.employees, options=["--rate-limit", "off"]) as base_url:
        company = Company.objects.create(name="Bench GmbH", slug=f"bench-{os.getpid()}")
        services.do_connect_personio(
            company,
            client_id="sandbox-client-id",
            client_secret="sandbox-client-secret",
            base_url=base_url,
            acting_user=None,
            first_sync=False,
        )

        def bare_fetch() -> int:
            with sync.client_for(
                Credentials("sandbox-client-id", "sandbox-client-secret"), base_url
            ) as client:
                return sum(1 for _ in client.iter_employees())

        def run_sync() -> Any:
            run = sync.request_sync(company, "command", enqueue=False)
            return sync.execute_run(run.pk)

        wall, q, rss, n = measure(bare_fetch)
        rows.append(("bare fetch (client only)", wall, f"{n} read", q, rss))
        fetch_wall = wall
        for label in ("first sync", "unchanged re-sync"):
            wall, q, rss, run = measure(run_sync)
            assert run.status in ("succeeded", "partly_failed"), (run.status, run.message)
            rows.append((label, wall, run.counts["employees_written"], q, rss))
        # Change `changes` employees in the sandbox through its control API.
        import httpx

        # A few hundred employees to pick from, not the whole list: the list of a 100k company
        # would raise this process's RSS before the measured phase starts.
        listing = httpx.get(
            f"{base_url}/sandbox/employees", params={"limit": 50 * args.changes}, timeout=60
        ).json()
        items = listing if isinstance(listing, list) else listing.get("data", listing)
        changed = [e for e in items if e.get("email") and not e.get("termination_date")]
        for e in changed[: args.changes]:
            httpx.patch(
                f"{base_url}/sandbox/employees/{e['id']}",
                json={"last_name": e["last_name"] + "-neu"},
                timeout=10,
            ).raise_for_status()
        wall, q, rss, run = measure(run_sync)
        rows.append(
            (f"re-sync, {args.changes} changed", wall, run.counts["employees_written"], q, rss)
        )

    vendor = connection.vendor
    print(f"\nSync benchmark: {args.employees} employees, {vendor}, sandbox without latency")
    print(
        f"{'phase':<28} {'wall s':>8} {'x fetch':>8} {'rows written':>13} {'queries':>8} "
        f"{'peak RSS MB':>12}"
    )
    for label, wall, written, q, rss in rows:
        print(
            f"{label:<28} {wall:>8.2f} {wall / fetch_wall:>8.2f} {written!s:>13} {q:>8} "
            f"{rss / 2**20:>12.0f}"
        )


if __name__ == "__main__":
    main()
