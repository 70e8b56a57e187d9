"""Scale benchmarks (issue 7). Prints two tables.

1. Daily cycle: 1,000 companies x 100 employees in scale mode (PostgreSQL + Redis, real
   `benefitsync run_huey` processes, the sandbox in its own process, no latency, no limits),
   with 1 worker process and with 2 (each `HUEY_WORKERS` threads). For each: the first cycle
   (every company creates its 100 employees) and the next, unchanged cycle (the everyday case),
   timed from the scheduler's pass to the last run finished: wall time and companies/s.
2. One 10,000-employee company against Personio's limits (15 req/s, 300 req/min) with 200 ms
   latency per request: first sync and unchanged re-sync, wall time against the floor the limits
   set (the same floor as bench/personio_fetch.py) and the share of 429 answers.

    .venv/bin/python bench/scale_bench.py [--companies 1000] [--employees 100] [--workers 1,2]
                                          [--threads 2] [--limited-employees 10000] [--skip-cycle]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # the cluster harness lives beside the multi-worker test

from tests.scale.cluster import (  # noqa: E402  (after the path above, on purpose)
    DEFAULT_PG_SERVER,
    DEFAULT_REDIS,
    Cluster,
    postgres_unreachable,
    redis_unreachable,
)

from sandbox_company import connected_company  # noqa: E402  (bench/ is the script's path)


def wait_for_workers(cluster: Cluster, count: int, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while True:
        out = subprocess.run(
            [sys.executable, "-m", "benefitsync", "health", "--worker"],
            env=cluster.env,
            cwd=REPO,
            capture_output=True,
            text=True,
            check=False,
        )
        if out.returncode == 0 and json.loads(out.stdout)["workers_alive"] >= count:
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"workers not up: {out.stdout}")
        time.sleep(0.5)


def daily_cycle(
    pg: str, redis_url: str, companies: int, employees: int, workers: int, threads: int
) -> list[dict[str, Any]]:
    rows = []
    with (
        tempfile.TemporaryDirectory(prefix="benefitsync-scale-") as tmp,
        Cluster(
            pg_server_url=pg,
            redis_url=redis_url,
            data_dir=Path(tmp),
            worker_threads=threads,
            extra_env={"LOG_LEVEL": "WARNING"},
        ) as cluster,
    ):
        base_url = cluster.start_sandbox(employees=employees, extra=["--rate-limit", "off"])
        cluster.driver("setup", "--companies", str(companies), "--base-url", base_url)
        cluster.start_workers(workers)
        wait_for_workers(cluster, workers)
        done = 0
        for label in ("first cycle (creates)", "unchanged cycle"):
            cluster.driver("make-due")
            started = time.monotonic()
            queued = cluster.driver("schedule")["queued"]
            done += queued
            cluster.wait_until_finished(done, timeout=3600)
            wall = time.monotonic() - started
            statuses = cluster.run_statuses()
            written = cluster.query(
                "SELECT coalesce(sum((counts->>'employees_written')::int), 0) "
                "FROM personio_syncrun WHERE id > (SELECT coalesce(max(id), 0) - %s "
                "FROM personio_syncrun)",
                [queued],
            )[0][0]
            rows.append(
                {
                    "workers": workers,
                    "threads": threads,
                    "cycle": label,
                    "companies": queued,
                    "wall": wall,
                    "throughput": queued / wall,
                    "written": int(written),
                    "statuses": statuses,
                }
            )
    return rows


def limited_worker(base_url: str, employees: int) -> dict[str, Any]:
    """In its own process (own SQLite database): first sync and unchanged re-sync of a company
    against the rate-limited, slow sandbox."""
    data_dir = tempfile.mkdtemp(prefix="benefitsync-limited-")
    os.environ["BENEFITSYNC_DATA_DIR"] = data_dir
    os.environ.pop("DATABASE_URL", None)
    os.environ["DJANGO_SETTINGS_MODULE"] = "benefitsync.settings"
    import django

    django.setup()
    import httpx
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from benefitsync.integrations.personio import sync

    company = connected_company("Limited GmbH", "limited", base_url)
    phases = []
    for label in ("first sync", "unchanged re-sync"):
        # Start each phase with Personio's minute window empty, as a daily sync would.
        time.sleep(61)
        before = httpx.get(f"{base_url}/sandbox/stats", timeout=10).json()
        run = sync.request_sync(company, "command", enqueue=False)
        started = time.perf_counter()
        run = sync.execute_run(run.pk)
        wall = time.perf_counter() - started
        after = httpx.get(f"{base_url}/sandbox/stats", timeout=10).json()
        phases.append(
            {
                "phase": label,
                "status": run.status,
                "wall": wall,
                "requests": run.requests,
                "rate_limited": run.rate_limited,
                "server_requests": after["requests"] - before["requests"],
                "server_429": after["rate_limited"] - before["rate_limited"],
                "written": run.counts.get("employees_written", 0),
            }
        )
    return {"phases": phases}


def limited(employees: int, latency_ms: float) -> list[dict[str, Any]]:
    from benefitsync.integrations.personio.ratelimit import (
        PERSONIO_EMPLOYEES_WINDOWS,
        floor_seconds,
    )
    from benefitsync.integrations.personio.sandbox.server import sandbox_process

    options = ["--rate-limit", "personio", "--latency-ms", str(latency_ms)]
    with sandbox_process(employees=employees, options=options) as base:
        out = subprocess.run(
            [
                sys.executable,
                __file__,
                "--limited-worker",
                base,
                "--limited-employees",
                str(employees),
            ],
            check=True,
            capture_output=True,
            text=True,
            cwd=REPO,
        )
        phases: list[dict[str, Any]] = json.loads(out.stdout.strip().splitlines()[-1])["phases"]
    rtt = latency_ms / 1000
    minimum = 1 + -(-employees // 100)
    floor = rtt + floor_seconds(minimum, PERSONIO_EMPLOYEES_WINDOWS) + rtt
    for phase in phases:
        phase["floor"] = floor
        phase["ratio"] = phase["wall"] / floor
        phase["share_429"] = 100 * phase["server_429"] / max(1, phase["server_requests"])
    return phases


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--companies", type=int, default=1000)
    parser.add_argument("--employees", type=int, default=100)
    parser.add_argument("--workers", default="1,2")
    parser.add_argument("--threads", type=int, default=2, help="HUEY_WORKERS per process")
    parser.add_argument("--limited-employees", type=int, default=10_000)
    parser.add_argument("--latency-ms", type=float, default=200)
    parser.add_argument("--skip-cycle", action="store_true")
    parser.add_argument("--skip-limited", action="store_true")
    parser.add_argument("--limited-worker", metavar="BASE_URL")
    parser.add_argument("--pg", default=os.environ.get("BENCH_PG_URL", DEFAULT_PG_SERVER))
    parser.add_argument("--redis", default=os.environ.get("BENCH_REDIS_URL", DEFAULT_REDIS))
    args = parser.parse_args()
    if args.limited_worker:
        print(json.dumps(limited_worker(args.limited_worker, args.limited_employees)))
        return

    if not args.skip_cycle:
        problem = postgres_unreachable(args.pg) or redis_unreachable(args.redis)
        if problem:
            print(f"\nDaily cycle benchmark SKIPPED: {problem}")
        else:
            rows = []
            for workers in (int(w) for w in args.workers.split(",")):
                rows += daily_cycle(
                    args.pg, args.redis, args.companies, args.employees, workers, args.threads
                )
            print(
                f"\nDaily cycle: {args.companies} companies x {args.employees} employees, "
                f"PostgreSQL + Redis, {args.threads} threads per worker process"
            )
            header = (
                f"{'workers':>7} {'cycle':<22} {'runs':>5} {'wall s':>8} {'companies/s':>11} "
                f"{'rows written':>12} {'outcomes'}"
            )
            print(header)
            print("-" * len(header))
            for r in rows:
                print(
                    f"{r['workers']:>7} {r['cycle']:<22} {r['companies']:>5} {r['wall']:>8.1f} "
                    f"{r['throughput']:>11.1f} {r['written']:>12} {r['statuses']}"
                )
            by = {(r["workers"], r["cycle"]): r["wall"] for r in rows}
            for cycle in ("first cycle (creates)", "unchanged cycle"):
                if (1, cycle) in by and (2, cycle) in by:
                    print(
                        f"speed-up 2 vs 1 worker, {cycle}: {by[(1, cycle)] / by[(2, cycle)]:.2f}x"
                    )

    if not args.skip_limited:
        phases = limited(args.limited_employees, args.latency_ms)
        print(
            f"\nPersonio limits (15/s, 300/min) + {args.latency_ms:.0f} ms latency: "
            f"one company of {args.limited_employees} employees (SQLite)"
        )
        header = (
            f"{'phase':<20} {'wall s':>7} {'floor s':>7} {'ratio':>6} {'requests':>8} "
            f"{'429s':>5} {'429 %':>6} {'rows written':>12} {'status'}"
        )
        print(header)
        print("-" * len(header))
        for p in phases:
            print(
                f"{p['phase']:<20} {p['wall']:>7.2f} {p['floor']:>7.2f} {p['ratio']:>6.2f} "
                f"{p['server_requests']:>8} {p['server_429']:>5} {p['share_429']:>6.2f} "
                f"{p['written']:>12} {p['status']}"
            )


if __name__ == "__main__":
    main()
