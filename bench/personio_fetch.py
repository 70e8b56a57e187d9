"""Benchmark: the Personio client fetching all employees from the sandbox over loopback HTTP.

Scenarios (issue 3):
  (a) no latency, no rate limits: 10,000 and 100,000 employees -> wall time, requests, peak RSS
  (b) Personio's limits (15/s, 300/min) and 200 ms latency, 10,000 employees -> wall time against
      the floor the limits set, and the share of 429 answers.
In (a) the client's CPU time per record (the whole client: HTTP, threads, decoding, parsing) is
reported beside the CPU time of a bare `orjson.loads` of the same pages in the same process, and
their ratio (issue 14: at most 1.5x); "next" is a second listing by a new client in the same
process (what a worker pays for its next company: no first-request imports, the TLS context
reused).

Each scenario runs the sandbox and the client in separate processes (so the client's peak RSS is
its own), the client streaming records without keeping them. Usage:

    .venv/bin/python bench/personio_fetch.py            # all scenarios, prints a table
    .venv/bin/python bench/personio_fetch.py --quick    # smaller sizes, for a smoke run
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import Any

import httpx
import orjson

from benefitsync.integrations.personio.client import PAGE_SIZE, Credentials, PersonioClient
from benefitsync.integrations.personio.errors import BadRecord
from benefitsync.integrations.personio.ratelimit import (
    PERSONIO_EMPLOYEES_WINDOWS,
    RateLimiter,
    Window,
    floor_seconds,
)
from benefitsync.integrations.personio.sandbox.server import sandbox_process
from benefitsync.integrations.personio.sandbox.state import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
)
from benefitsync.lib.memory import cap_malloc_arenas


@dataclass(frozen=True)
class Scenario:
    name: str
    employees: int
    limits: bool
    latency_ms: float
    # The client knows the total from the last sync (what a daily sync passes as a hint).
    hint: bool = False


def listing(
    base_url: str, limits: bool, concurrency: int, hint: int | None
) -> tuple[float, float, int, int, dict[str, Any]]:
    """One client listing every employee: wall s, CPU s, records, bad records, client stats."""
    limiter = RateLimiter.personio_employees() if limits else RateLimiter([Window(1_000_000, 1.0)])
    creds = Credentials(DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET)
    records = bad = 0
    started = time.perf_counter()
    cpu_started = time.process_time()
    with PersonioClient(
        creds, base_url=base_url, limiter=limiter, max_concurrency=concurrency, timeout=30
    ) as client:
        for record in client.iter_employees(expected_total=hint):
            records += 1
            bad += isinstance(record, BadRecord)
        wall = time.perf_counter() - started
        cpu = time.process_time() - cpu_started
        stats = client.stats.as_dict()
    return wall, cpu, records, bad, stats


def worker(base_url: str, limits: bool, concurrency: int, hint: int | None) -> dict[str, Any]:
    """Runs in its own process: fetch everything, report numbers as JSON."""
    # As every benefitsync process that runs the client (the Personio app's ready() does it).
    cap_malloc_arenas()
    wall, cpu, records, bad, stats = listing(base_url, limits, concurrency, hint)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    result = {
        "wall": wall,
        "records": records,
        "bad": bad,
        "peak_rss_mb": peak,
        "stats": stats,
        # The whole client in this process (HTTP, threads, decoding, parsing), per record.
        "client_cpu_us": 1e6 * cpu / max(1, records),
        "next_cpu_us": 0.0,
        "orjson_cpu_us": 0.0,
    }
    if not limits:
        # A second listing by a new client in the same process, as a worker syncs its next
        # company: the first listing also paid what a process pays once (importing httpcore on
        # the first request, the TLS context), ~4 µs per record at 10,000 employees.
        _, cpu, records, _, _ = listing(base_url, limits, concurrency, hint)
        result["next_cpu_us"] = 1e6 * cpu / max(1, records)
        creds = Credentials(DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET)
        result["orjson_cpu_us"] = orjson_baseline(base_url, creds)
    return result


def orjson_baseline(base_url: str, creds: Credentials) -> float:
    """CPU µs per record of a bare `orjson.loads` of the same pages, in the same process (after
    the client's run, one page at a time, so neither the peak RSS nor the client's CPU time
    includes it): the floor a decoder in Python can reach."""
    cpu = 0.0
    n = 0
    with httpx.Client(base_url=base_url, timeout=30) as http:
        auth = {"client_id": creds.client_id, "client_secret": creds.client_secret}
        token = http.post("/v1/auth", json=auth).json()["data"]["token"]
        headers = {"Authorization": f"Bearer {token}"}
        offset, total = 0, None
        while total is None or offset < total:
            params = {"limit": PAGE_SIZE, "offset": offset}
            body = http.get("/v1/company/employees", params=params, headers=headers).content
            started = time.process_time()
            payload = orjson.loads(body)
            cpu += time.process_time() - started
            total = payload["metadata"]["total_elements"]
            n += len(payload["data"])
            offset += PAGE_SIZE
    return 1e6 * cpu / max(1, n)


def run(scenario: Scenario, concurrency: int) -> dict[str, Any]:
    options = [
        "--rate-limit",
        "personio" if scenario.limits else "off",
        "--latency-ms",
        str(scenario.latency_ms),
    ]
    with sandbox_process(employees=scenario.employees, options=options) as base:
        out = subprocess.run(
            [
                sys.executable,
                __file__,
                "--worker",
                base,
                "--limits" if scenario.limits else "--no-limits",
                "--concurrency",
                str(concurrency),
                *(["--hint", str(scenario.employees)] if scenario.hint else []),
            ],
            check=True,
            capture_output=True,
            text=True,
        )
        result: dict[str, Any] = json.loads(out.stdout)
        result["server"] = httpx.get(f"{base}/sandbox/stats").json()
        return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--worker", metavar="BASE_URL")
    parser.add_argument("--limits", action="store_true")
    parser.add_argument("--no-limits", dest="limits", action="store_false")
    parser.add_argument("--concurrency", type=int, default=15)
    parser.add_argument("--hint", type=int, default=None, help="expected total (worker only)")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--only", choices=("a", "b"), help="run only scenarios a or b")
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker, args.limits, args.concurrency, args.hint)))
        return

    scale = 10 if args.quick else 1
    scenarios = [
        Scenario("a: no latency, no limits", 10_000 // scale, False, 0),
        Scenario("a: no latency, no limits", 100_000 // scale, False, 0),
        Scenario("b: Personio limits, 200 ms latency", 10_000 // scale, True, 200),
        Scenario("b: same, total known from last sync", 10_000 // scale, True, 200, hint=True),
    ]
    header = (
        f"{'scenario':<36} {'employees':>9} {'wall s':>7} {'requests':>8} "
        f"{'peak RSS MB':>11} {'floor s':>7} {'ratio':>5} {'429 %':>6} "
        f"{'client µs/rec':>13} {'orjson µs/rec':>13} {'CPU x':>5} "
        f"{'next µs/rec':>11} {'next x':>6}"
    )
    print(header)
    print("-" * len(header))
    for sc in scenarios:
        if args.only and not sc.name.startswith(args.only):
            continue
        r = run(sc, args.concurrency)
        stats = r["stats"]
        requests = stats["requests"]
        assert r["records"] == sc.employees, r
        floor = ratio = share = ""
        if sc.limits:
            # The limits' floor: the auth round trip, then the minimum employees-endpoint
            # requests (attributes + one page per 100 employees) paced at 15/s and 300/min,
            # then the last answer's round trip.
            rtt = sc.latency_ms / 1000
            minimum = 1 + -(-sc.employees // 100)
            f = rtt + floor_seconds(minimum, PERSONIO_EMPLOYEES_WINDOWS) + rtt
            floor, ratio = f"{f:.2f}", f"{r['wall'] / f:.2f}"
        baseline = cpu_x = next_us = next_x = ""
        if r["orjson_cpu_us"]:
            baseline = f"{r['orjson_cpu_us']:.1f}"
            cpu_x = f"{r['client_cpu_us'] / r['orjson_cpu_us']:.2f}"
            next_us = f"{r['next_cpu_us']:.1f}"
            next_x = f"{r['next_cpu_us'] / r['orjson_cpu_us']:.2f}"
        server_total = r["server"]["requests"]
        share = f"{100 * r['server']['rate_limited'] / max(1, server_total):.2f}"
        print(
            f"{sc.name:<36} {sc.employees:>9} {r['wall']:>7.2f} {requests:>8} "
            f"{r['peak_rss_mb']:>11.1f} {floor:>7} {ratio:>5} {share:>6} "
            f"{r['client_cpu_us']:>13.1f} {baseline:>13} {cpu_x:>5} {next_us:>11} {next_x:>6}"
        )


if __name__ == "__main__":
    main()
