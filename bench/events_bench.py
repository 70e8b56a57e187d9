"""Events instead of polling (issue 17, "Measured"). Prints three tables.

1. Latency: the real product (`benefitsync run`: gunicorn + Huey worker + sandbox, SQLite in a
   temporary data directory, free ports) with one company connected to the sandbox and its
   webhook active; `--changes` changes (hires, edits, leaving dates, deletions) made through the
   sandbox's control API over HTTP, `--gap` seconds apart (uniform), each timed from just before
   its control request until the portal's database (read-only) shows it. p50, p95, max.
2. Requests per day of an unchanged `--day-employees` company, counted by the sandbox (its
   control API left out): the company connected with webhooks (full scope) and without (a
   credential lacking `personio:webhooks:write`), each in a process and data directory of its
   own; after the first full sync a day is simulated with the scheduler's every-minute
   `schedule.tick` at `--tick-minutes` steps over 24 hours (Huey immediate: what it queues runs
   at once): the nightly full run, the nightly webhook check and, without webhooks, the hourly
   delta runs.
3. Daily cycle of `--companies` x `--employees` in scale mode (PostgreSQL + Redis, real worker
   processes; as bench/scale_bench.py) with webhooks off and on in the same run: each company
   has a credential of its own (as in production), with webhooks on its webhook is registered
   before the cycles; wall = from the scheduler's pass until every run has finished and, with
   webhooks on, every webhook due for its weekly check (`webhooks.check_due`) was checked.

    .venv/bin/python bench/events_bench.py [--only latency,requests,cycle] [--changes 100]
        [--gap 0.5,1.0] [--day-employees 10000] [--companies 1000] [--employees 100]
        [--workers 2] [--threads 2]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # the cluster harness lives beside the multi-worker test

from tests.scale.cluster import (  # noqa: E402  (after the path above, on purpose)
    DEFAULT_PG_SERVER,
    DEFAULT_REDIS,
    Cluster,
    postgres_unreachable,
    redis_unreachable,
)

from benefitsync.integrations.personio.sandbox.server import (  # noqa: E402
    free_port,
    wait_for_port,
)

CONTROL = "sandbox"  # the sandbox's stats key for its own control API: not Personio's
NO_WEBHOOK_SCOPES = ["personio:persons:read", "personio:employments:read"]


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def personio_requests(stats: dict[str, Any]) -> dict[str, int]:
    """Requests per endpoint the sandbox served as Personio (its control API left out)."""
    return {
        endpoint: sum(by_status.values())
        for endpoint, by_status in stats["by_endpoint"].items()
        if endpoint != CONTROL
    }


def diff(after: dict[str, int], before: dict[str, int]) -> dict[str, int]:
    keys = set(after) | set(before)
    return {
        k: after.get(k, 0) - before.get(k, 0)
        for k in sorted(keys)
        if after.get(k, 0) != before.get(k, 0)
    }


def percentile(values: list[float], share: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * share // 1))
    return ordered[int(rank) - 1]


# --- 1. latency with the real product ------------------------------------------------------------


def product_env(data_dir: Path, port: int) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "REDIS_URL", "HUEY_IMMEDIATE", "DJANGO_SETTINGS_MODULE"}
    }
    env.update(
        {
            "BENEFITSYNC_DATA_DIR": str(data_dir),
            # The address the portal is served at, for the command-line processes below too
            # (`benefitsync run` tells only its own children: BENEFITSYNC_SERVED_AT).
            "BENEFITSYNC_BASE_URL": f"http://127.0.0.1:{port}",
            "LOG_LEVEL": "WARNING",
        }
    )
    return env


def benefitsync(env: dict[str, str], *args: str) -> str:
    out = subprocess.run(
        [sys.executable, "-m", "benefitsync", *args],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    if out.returncode != 0:
        raise RuntimeError(f"benefitsync {' '.join(args)} failed:\n{out.stdout}\n{out.stderr}")
    return out.stdout


@contextmanager
def product(data_dir: Path, employees: int) -> Iterator[tuple[dict[str, str], str, str]]:
    """`benefitsync run` on free ports: (env, portal URL, sandbox URL)."""
    port, sandbox_port = free_port(), free_port()
    env = product_env(data_dir, port)
    benefitsync(env, "migrate", "--noinput")
    log = (data_dir / "run.log").open("ab")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "benefitsync",
            "run",
            "--port",
            str(port),
            "--sandbox-port",
            str(sandbox_port),
            "--sandbox-employees",
            str(employees),
        ],
        env=env,
        cwd=REPO,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group: stopped as a whole below
    )
    try:
        wait_for_port(sandbox_port, proc, 120)
        wait_for_port(port, proc, 120)
        yield env, f"http://127.0.0.1:{port}", f"http://127.0.0.1:{sandbox_port}"
    finally:
        proc.send_signal(signal.SIGTERM)  # the supervisor stops its children
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
        log.close()


@dataclass
class Change:
    series: str
    kind: str
    personio_id: int
    query: str  # SQL that returns a row once the portal shows the change
    params: tuple[Any, ...]
    started: float = 0.0
    seen: float | None = None


@dataclass
class Watcher:
    """Polls the portal's SQLite database (read-only) every 50 ms for the pending changes."""

    database: Path
    pending: list[Change] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    stop: threading.Event = field(default_factory=threading.Event)

    def add(self, change: Change) -> None:
        with self.lock:
            self.pending.append(change)

    def run(self) -> None:
        conn = sqlite3.connect(f"file:{self.database}?mode=ro", uri=True, timeout=5)
        try:
            while not self.stop.is_set():
                with self.lock:
                    waiting = [c for c in self.pending if c.seen is None]
                for change in waiting:
                    try:
                        row = conn.execute(change.query, change.params).fetchone()
                    except sqlite3.OperationalError:
                        continue  # locked for a moment by a writer: next round
                    if row is not None:
                        change.seen = time.monotonic()
                time.sleep(0.05)
        finally:
            conn.close()


EMPLOYEE = "SELECT 1 FROM employees_employee WHERE company_id = ? AND personio_id = ?"


def make_change(
    http: httpx.Client,
    series: str,
    kind: str,
    n: int,
    actives: list[dict[str, Any]],
    company_id: int,
    today: dt.date,
) -> Change:
    """One change through the sandbox's control API, and how the portal's database shows it."""
    t0 = time.monotonic()
    if kind == "hire":
        response = http.post(
            "/sandbox/employees",
            json={
                "first_name": "Neu",
                "last_name": f"Eingestellt{n}",
                "email": f"neu.{n}@events.example",
                "hire_date": (today - dt.timedelta(days=3)).isoformat(),
            },
        )
        response.raise_for_status()
        pid = int(response.json()["id"])
        return Change(series, kind, pid, EMPLOYEE, (company_id, pid), t0)
    pid = int(actives.pop()["id"])
    params: tuple[Any, ...]
    if kind == "edit":
        name = f"Geaendert{n}"
        response = http.patch(f"/sandbox/employees/{pid}", json={"last_name": name})
        query, params = EMPLOYEE + " AND last_name = ?", (company_id, pid, name)
    elif kind == "leaving":
        leaving = (today + dt.timedelta(days=40)).isoformat()
        response = http.patch(f"/sandbox/employees/{pid}", json={"termination_date": leaving})
        query, params = EMPLOYEE + " AND status = 'leaving'", (company_id, pid)
    else:
        response = http.delete(f"/sandbox/employees/{pid}")
        query, params = EMPLOYEE + " AND missing_from_personio", (company_id, pid)
    response.raise_for_status()
    return Change(series, kind, pid, query, params, t0)


Series = tuple[str, int, tuple[float, float]]  # label, changes, seconds apart (low, high)


def latency(series: list[Series], employees: int) -> dict[str, Any]:
    rng = random.Random(17)
    with (
        tempfile.TemporaryDirectory(prefix="benefitsync-events-") as tmp,
        product(Path(tmp), employees) as (env, portal, sandbox),
    ):
        benefitsync(env, "companies", "create", "Ereignis GmbH", "--slug", "ereignis")
        connected = benefitsync(
            env,
            "personio",
            "connect",
            "ereignis",
            "--client-id",
            "sandbox-client-id",
            "--client-secret",
            "sandbox-client-secret",
            "--base-url",
            sandbox,
        )
        database = Path(tmp) / "benefitsync.sqlite3"
        with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as db:
            company_id, state, url = db.execute(
                "SELECT company_id, webhook_state, webhook_url FROM personio_personiointegration"
            ).fetchone()
        http = httpx.Client(base_url=sandbox, timeout=10)
        hooks = http.get("/sandbox").json()["webhooks"]
        if state != "active" or hooks != 1 or not url.startswith(portal):
            raise RuntimeError(f"webhooks not active: {state} {hooks} {url}\n{connected}")
        actives = [e for e in http.get("/sandbox/employees").json() if e["status"] == "active"]
        rng.shuffle(actives)
        today = dt.date.fromisoformat(http.get("/sandbox/clock").json()["today"])
        watcher = Watcher(database)
        thread = threading.Thread(target=watcher.run, daemon=True)
        thread.start()
        done: list[Change] = []
        started = time.monotonic()
        load_before = load()
        n = 0
        for label, changes, gap in series:
            kinds = (
                ["hire"] * (changes * 3 // 10)
                + ["leaving"] * (changes * 2 // 10)
                + ["delete"] * (changes * 15 // 100)
            )
            kinds += ["edit"] * (changes - len(kinds))
            rng.shuffle(kinds)
            if done:
                time.sleep(gap[1])  # the workers idle before the series begins
            for kind in kinds:
                n += 1
                change = make_change(http, label, kind, n, actives, company_id, today)
                watcher.add(change)
                done.append(change)
                time.sleep(rng.uniform(*gap))
        deadline = time.monotonic() + 120
        while any(c.seen is None for c in done) and time.monotonic() < deadline:
            time.sleep(0.2)
        watcher.stop.set()
        thread.join()
        load_after = load()
        with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as db:
            runs = dict(
                db.execute(
                    "SELECT kind || ' ' || status, count(*) FROM personio_syncrun GROUP BY 1"
                ).fetchall()
            )
            requests = db.execute(
                "SELECT coalesce(sum(requests), 0) FROM personio_syncrun WHERE kind = 'webhook'"
            ).fetchone()[0]
        deliveries = http.get("/sandbox/deliveries", params={"limit": 0}).json()["stats"]
        http.close()
    return {
        "changes": done,
        "seconds": time.monotonic() - started,
        "runs": runs,
        "webhook_run_requests": requests,
        "deliveries": deliveries,
        "load": (load_before, load_after),
    }


def print_latency(result: dict[str, Any], series: list[Series]) -> None:
    changes: list[Change] = result["changes"]
    described = "; ".join(
        f"{label}: {n} changes {low}-{high} s apart" for label, n, (low, high) in series
    )
    print(
        f"\n1. Latency, change in the sandbox -> the portal's database, `benefitsync run` "
        f"(SQLite), over {result['seconds']:.0f} s ({described}); load average "
        f"{result['load'][0]} -> {result['load'][1]}"
    )
    header = (
        f"{'series':<8} {'changes':<8} {'n':>4} {'seen':>5} {'p50 s':>6} {'p95 s':>6} {'max s':>6}"
    )
    print(header)
    print("-" * len(header))
    groups: dict[tuple[str, str], list[Change]] = {}
    for c in changes:
        groups.setdefault((c.series, "all"), []).append(c)
    for c in changes:
        groups.setdefault((c.series, c.kind), []).append(c)
    for (label, kind), group in groups.items():
        waits = [c.seen - c.started for c in group if c.seen is not None]
        if not waits:
            print(f"{label:<8} {kind:<8} {len(group):>4} {0:>5}")
            continue
        p50, p95 = statistics.median(waits), percentile(waits, 0.95)
        print(
            f"{label:<8} {kind:<8} {len(group):>4} {len(waits):>5} {p50:>6.2f} {p95:>6.2f} "
            f"{max(waits):>6.2f}"
        )
    print(
        f"runs: {result['runs']}; Personio requests of the webhook runs: "
        f"{result['webhook_run_requests']}"
    )
    print(f"deliveries: {result['deliveries']}")
    unseen = [(c.kind, c.personio_id) for c in changes if c.seen is None]
    if unseen:
        print("NOT SEEN within 120 s:", unseen)


# --- 2. requests per day of an unchanged company -------------------------------------------------


def django_here(prefix: str) -> None:
    """Django in this process on a SQLite database of its own (a temporary data directory)."""
    os.environ["BENEFITSYNC_DATA_DIR"] = tempfile.mkdtemp(prefix=prefix)
    for name in ("DATABASE_URL", "REDIS_URL", "HUEY_IMMEDIATE"):
        os.environ.pop(name, None)
    os.environ["DJANGO_SETTINGS_MODULE"] = "benefitsync.settings"
    # Deliveries (none are expected: nothing changes) would go to the discard port.
    os.environ["BENEFITSYNC_PUBLIC_URL"] = "http://127.0.0.1:9"
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def day_worker(base_url: str, with_webhooks: bool, tick_minutes: int) -> dict[str, Any]:
    """In its own process: connect, first full sync, then 24 simulated hours of the scheduler."""
    django_here("benefitsync-day-")
    from django.conf import settings
    from django.utils import timezone
    from huey.contrib.djhuey import HUEY

    from benefitsync.companies.models import Company
    from benefitsync.integrations.personio import schedule, services
    from benefitsync.integrations.personio.models import (
        PersonioIntegration,
        RunKind,
        SyncRun,
        Trigger,
    )
    from benefitsync.integrations.personio.ratelimit import RateLimiter, Window
    from benefitsync.integrations.personio.sandbox.state import (
        DEFAULT_CLIENT_ID,
        DEFAULT_CLIENT_SECRET,
    )
    from benefitsync.integrations.personio.sync import execute_run, request_sync

    # The sandbox has no limits and neither has the client: the counts do not depend on it,
    # and a full sync of 10,000 would otherwise wait >= 20 s for Personio's 300/min.
    settings.PERSONIO_CLIENT_OPTIONS = {
        **settings.PERSONIO_CLIENT_OPTIONS,
        "limiter": RateLimiter([Window(1_000_000, 1.0)]),
    }
    HUEY.immediate = True  # what the scheduler queues runs at once, here
    http = httpx.Client(base_url=base_url, timeout=30)

    def counted() -> dict[str, int]:
        return personio_requests(http.get("/sandbox/stats").json())

    if with_webhooks:
        client_id, secret = DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET
    else:
        cred = http.post("/sandbox/credentials", json={"scopes": NO_WEBHOOK_SCOPES}).json()
        client_id, secret = cred["client_id"], cred["client_secret"]
    company = Company.objects.create(name="Ruhig GmbH", slug="ruhig")
    before = counted()
    services.do_connect_personio(
        company,
        client_id=client_id,
        client_secret=secret,
        base_url=base_url,
        acting_user=None,
        first_sync=False,
    )
    connect = diff(counted(), before)
    before = counted()
    first = execute_run(request_sync(company, Trigger.COMMAND, enqueue=False).pk)
    first_requests = diff(counted(), before)
    integration = PersonioIntegration.objects.get(company=company)

    start = timezone.now()
    phases: dict[str, dict[str, int]] = {}
    runs: dict[str, list[int]] = {}
    last_run = SyncRun.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    for step in range(1, 24 * 60 // tick_minutes + 1):
        before = counted()
        schedule.tick(start + dt.timedelta(minutes=step * tick_minutes))
        spent = diff(counted(), before)
        new = list(SyncRun.objects.filter(pk__gt=last_run).order_by("pk"))
        if new:
            last_run = new[-1].pk
        for run in new:
            runs.setdefault(run.kind, []).append(run.requests)
        kinds = {run.kind for run in new}
        for endpoint, n in spent.items():
            if endpoint.startswith("v2"):
                phase = "nightly webhook check"
            elif RunKind.FULL in kinds:
                phase = "nightly full run"
            elif RunKind.DELTA in kinds:
                phase = "delta runs"
            else:
                phase = "other"
            into = phases.setdefault(phase, {})
            into[endpoint] = into.get(endpoint, 0) + n
    integration.refresh_from_db()
    http.close()
    return {
        "webhooks": with_webhooks,
        "state": integration.webhook_state,
        "connect": connect,
        "first": {"status": first.status, "requests": first_requests},
        "phases": phases,
        "runs": runs,
        "ticks": 24 * 60 // tick_minutes,
    }


def requests_per_day(employees: int, tick_minutes: int) -> list[dict[str, Any]]:
    from benefitsync.integrations.personio.sandbox.server import sandbox_process

    results = []
    for with_webhooks in (True, False):
        with sandbox_process(employees=employees, options=["--rate-limit", "off"]) as base:
            load_before = load()
            out = subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--day-worker",
                    base,
                    "--webhooks",
                    "on" if with_webhooks else "off",
                    "--tick-minutes",
                    str(tick_minutes),
                ],
                check=False,
                capture_output=True,
                text=True,
                cwd=REPO,
            )
            if out.returncode != 0:
                raise RuntimeError(f"day worker failed:\n{out.stdout}\n{out.stderr}")
            result = json.loads(out.stdout.strip().splitlines()[-1])
            result["load"] = (load_before, load())
            results.append(result)
    return results


def print_requests(results: list[dict[str, Any]], employees: int) -> None:
    print(
        f"\n2. Personio requests per day, one unchanged company of {employees} employees "
        "(counted by the sandbox; the scheduler's tick simulated over 24 h)"
    )
    for r in results:
        label = "with webhooks" if r["webhooks"] else "without webhooks (no webhooks:write)"
        phases = r["phases"]
        total = {name: sum(spent.values()) for name, spent in phases.items()}
        besides = sum(n for name, n in total.items() if name != "nightly full run")
        deltas = r["runs"].get("delta", [])
        print(f"{label}: webhook state {r['state']}; load average {r['load'][0]} -> {r['load'][1]}")
        print(f"  connect: {r['connect']}; first full sync: {r['first']}")
        for name, spent in sorted(phases.items()):
            print(f"  {name:<22} {total[name]:>6}  {spent}")
        print(
            f"  runs in the day: { {k: len(v) for k, v in r['runs'].items()} }; "
            f"delta runs' own request counts: {sorted(set(deltas))}"
        )
        print(
            f"  => besides the nightly full run: {besides} requests/day "
            f"(nightly full run: {total.get('nightly full run', 0)})"
        )


# --- 3. daily cycle, webhooks off and on ---------------------------------------------------------


def cycle_setup(base_url: str, companies: int) -> dict[str, Any]:
    """In the cluster's environment: `companies` companies, each with a sandbox credential of
    its own, not yet due; with webhooks on (BENEFITSYNC_PERSONIO_WEBHOOKS) each registers its
    webhook as a connect would."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "benefitsync.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.db import transaction
    from django.utils import timezone

    from benefitsync.companies.models import Company
    from benefitsync.integrations.personio import webhooks
    from benefitsync.integrations.personio.models import IntegrationStatus, PersonioIntegration
    from benefitsync.lib import crypto

    with httpx.Client(base_url=base_url, timeout=30) as http:
        creds = [http.post("/sandbox/credentials", json={}).json() for _ in range(companies)]
    now = timezone.now()
    with transaction.atomic():
        made = Company.objects.bulk_create(
            Company(name=f"Zyklus {n:04d}", slug=f"zyklus-{n:04d}") for n in range(companies)
        )
        PersonioIntegration.objects.bulk_create(
            PersonioIntegration(
                company=company,
                status=IntegrationStatus.ACTIVE,
                base_url=base_url,
                client_id=cred["client_id"],
                client_secret_encrypted=crypto.encrypt(cred["client_secret"]),
                connected_at=now,
                next_sync_at=now + dt.timedelta(days=1),
            )
            for company, cred in zip(made, creds, strict=True)
        )
    registered = 0
    started = time.monotonic()
    if settings.PERSONIO_WEBHOOKS:
        for n, integration in enumerate(PersonioIntegration.objects.select_related("company")):
            registered += webhooks.register(integration).webhooks_active
            # As in production, companies were connected (and last checked) on different days
            # of the week: an active webhook is looked at weekly (`webhooks.check_due`).
            PersonioIntegration.objects.filter(pk=integration.pk).update(
                webhook_checked_at=now - dt.timedelta(days=n % 7, hours=1)
            )
    return {
        "companies": len(made),
        "registered": registered,
        "register_seconds": time.monotonic() - started,
    }


def daily_cycles(
    pg: str,
    redis_url: str,
    companies: int,
    employees: int,
    workers: int,
    threads: int,
    order: list[bool],
) -> list[dict[str, Any]]:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from scale_bench import wait_for_workers

    rows = []
    for with_webhooks in order:
        with (
            tempfile.TemporaryDirectory(prefix="benefitsync-events-cycle-") as tmp,
            Cluster(
                pg_server_url=pg,
                redis_url=redis_url,
                data_dir=Path(tmp),
                worker_threads=threads,
                extra_env={
                    "LOG_LEVEL": "WARNING",
                    "BENEFITSYNC_PERSONIO_WEBHOOKS": "true" if with_webhooks else "false",
                    "BENEFITSYNC_PUBLIC_URL": "http://127.0.0.1:9",
                },
            ) as cluster,
        ):
            base_url = cluster.start_sandbox(employees=employees, extra=["--rate-limit", "off"])
            out = subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--cycle-setup",
                    base_url,
                    "--companies",
                    str(companies),
                ],
                env=cluster.env,
                cwd=REPO,
                capture_output=True,
                text=True,
                check=False,
            )
            if out.returncode != 0:
                raise RuntimeError(f"cycle setup failed:\n{out.stdout}\n{out.stderr}")
            setup = json.loads(out.stdout.strip().splitlines()[-1])
            cluster.start_workers(workers)
            wait_for_workers(cluster, workers)
            done = 0
            http = httpx.Client(base_url=base_url, timeout=30)
            for label in ("first cycle (creates)", "unchanged cycle"):
                cluster.driver("make-due")
                # A night later: one day more since each webhook was last looked at.
                cluster.query(
                    "UPDATE personio_personiointegration "
                    "SET webhook_checked_at = webhook_checked_at - interval '1 day' "
                    "WHERE webhook_checked_at IS NOT NULL RETURNING 1"
                )
                due_checks = cluster.query(
                    "SELECT count(*) FROM personio_personiointegration "
                    "WHERE webhook_checked_at <= now() - interval '7 days'"
                )[0][0]
                load_before = load()
                before = personio_requests(http.get("/sandbox/stats").json())
                since = cluster.query("SELECT now()")[0][0]
                started = time.monotonic()
                # The first worker's every-minute tick may queue some of them before this
                # pass does ("another scheduler took it"): every company is counted.
                cluster.driver("schedule")
                queued = companies
                done += queued
                cluster.wait_until_finished(done, timeout=3600)
                runs_done = time.monotonic() - started
                checked = 0
                if with_webhooks:
                    deadline = time.monotonic() + 600
                    while True:
                        checked = cluster.query(
                            "SELECT count(*) FROM personio_personiointegration "
                            "WHERE webhook_checked_at >= %s",
                            [since],
                        )[0][0]
                        if checked >= due_checks or time.monotonic() > deadline:
                            break
                        time.sleep(0.2)
                wall = time.monotonic() - started
                spent = diff(personio_requests(http.get("/sandbox/stats").json()), before)
                rows.append(
                    {
                        "webhooks": with_webhooks,
                        "cycle": label,
                        "companies": queued,
                        "runs_done": runs_done,
                        "wall": wall,
                        "checked": checked,
                        "statuses": cluster.run_statuses(),
                        "requests": spent,
                        "setup": setup,
                        "load": (load_before, load()),
                    }
                )
            http.close()
    return rows


def print_cycles(rows: list[dict[str, Any]], args: argparse.Namespace) -> None:
    print(
        f"\n3. Daily cycle: {args.companies} companies x {args.employees} employees, "
        f"PostgreSQL + Redis, {args.workers} worker process(es) x {args.threads} threads, "
        "a credential per company"
    )
    header = (
        f"{'webhooks':<8} {'cycle':<22} {'runs':>5} {'runs done s':>11} {'wall s':>7} "
        f"{'companies/s':>11} {'checked':>7} {'requests':>8}  load before -> after"
    )
    print(header)
    print("-" * len(header))
    for r in rows:
        print(
            f"{'on' if r['webhooks'] else 'off':<8} {r['cycle']:<22} {r['companies']:>5} "
            f"{r['runs_done']:>11.1f} {r['wall']:>7.1f} {r['companies'] / r['wall']:>11.1f} "
            f"{r['checked']:>7} {sum(r['requests'].values()):>8}  "
            f"{r['load'][0]} -> {r['load'][1]}"
        )
    for r in rows:
        print(f"  {'on' if r['webhooks'] else 'off'} {r['cycle']}: {r['requests']} {r['statuses']}")
    setups = {r["webhooks"]: r["setup"] for r in rows}
    print(f"  setup: {setups}")
    for cycle in ("first cycle (creates)", "unchanged cycle"):
        on = [r["wall"] for r in rows if r["webhooks"] and r["cycle"] == cycle]
        off = [r["wall"] for r in rows if not r["webhooks"] and r["cycle"] == cycle]
        if on and off:
            ratio = statistics.mean(on) / statistics.mean(off)
            print(f"  wall on / off (means of {len(on)} and {len(off)}), {cycle}: {ratio:.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--only", default="latency,requests,cycle")
    parser.add_argument("--changes", type=int, default=100)
    parser.add_argument("--gap", default="0.5,1.0", help="seconds between changes: low,high")
    parser.add_argument(
        "--quiet-changes",
        type=int,
        default=10,
        help="then this many changes after quiet spells (the workers idle in between)",
    )
    parser.add_argument("--quiet-gap", default="30,45", help="seconds between them: low,high")
    parser.add_argument("--sandbox-employees", type=int, default=200)
    parser.add_argument("--day-employees", type=int, default=10_000)
    parser.add_argument("--tick-minutes", type=int, default=5)
    parser.add_argument("--companies", type=int, default=1000)
    parser.add_argument("--employees", type=int, default=100)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2, help="HUEY_WORKERS per process")
    parser.add_argument(
        "--cycle-order",
        default="off,on,on,off",
        help="webhooks off/on per cluster, in this order (alternating evens out a busy machine)",
    )
    parser.add_argument("--pg", default=os.environ.get("BENCH_PG_URL", DEFAULT_PG_SERVER))
    parser.add_argument("--redis", default=os.environ.get("BENCH_REDIS_URL", DEFAULT_REDIS))
    # Internal: the parts that run in a process of their own.
    parser.add_argument("--day-worker", metavar="BASE_URL", help=argparse.SUPPRESS)
    parser.add_argument("--webhooks", choices=["on", "off"], help=argparse.SUPPRESS)
    parser.add_argument("--cycle-setup", metavar="BASE_URL", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.day_worker:
        print(json.dumps(day_worker(args.day_worker, args.webhooks == "on", args.tick_minutes)))
        return
    if args.cycle_setup:
        print(json.dumps(cycle_setup(args.cycle_setup, args.companies)))
        return
    parts = set(args.only.split(","))
    low, high = (float(x) for x in args.gap.split(","))
    quiet_low, quiet_high = (float(x) for x in args.quiet_gap.split(","))
    series: list[Series] = [("burst", args.changes, (low, high))]
    if args.quiet_changes:
        series.append(("quiet", args.quiet_changes, (quiet_low, quiet_high)))
    print(f"load average at the start: {load()}", flush=True)
    if "latency" in parts:
        print_latency(latency(series, args.sandbox_employees), series)
    if "requests" in parts:
        print_requests(requests_per_day(args.day_employees, args.tick_minutes), args.day_employees)
    if "cycle" in parts:
        problem = postgres_unreachable(args.pg) or redis_unreachable(args.redis)
        if problem:
            print(f"\nDaily cycle SKIPPED: {problem}")
        else:
            order = [part == "on" for part in args.cycle_order.split(",")]
            rows = daily_cycles(
                args.pg,
                args.redis,
                args.companies,
                args.employees,
                args.workers,
                args.threads,
                order,
            )
            print_cycles(rows, args)
    print(f"\nload average at the end: {load()}", flush=True)


if __name__ == "__main__":
    main()
