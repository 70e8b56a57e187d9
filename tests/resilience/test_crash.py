"""kill -9 the process running a sync at a random moment: never a half-applied run; the stale
run is marked interrupted and the company freed within the lease; the next run completes.

Each sync runs in a real `benefitsync sync` process on its own SQLite database (a data directory
per test), against the sandbox over HTTP. CI runs a few kills; `make soak` runs 50.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from benefitsync.integrations.personio.sandbox.server import SandboxHandle
from tests.conftest import fresh_sandbox

SOAK = os.environ.get("BENEFITSYNC_SOAK") == "1"
KILLS = 50 if SOAK else 4
# The killed run's company is free again once its lease ran out (heartbeats every LEASE / 3).
LEASE = 1


@pytest.fixture
def slow_sandbox(sandbox_server: SandboxHandle) -> SandboxHandle:
    handle = fresh_sandbox(sandbox_server, employees=400, seed=5)
    # Latency stretches a sync over a second or two, so kills land in fetch and in apply.
    handle.set_faults(latency_ms=150)
    return handle


class Portal:
    """The CLI of a portal installation in its own data directory."""

    def __init__(self, data_dir: Path) -> None:
        self.env = {
            k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")
        } | {
            "BENEFITSYNC_DATA_DIR": str(data_dir),
            "SYNC_LEASE_SECONDS": str(LEASE),
            "LOG_LEVEL": "WARNING",
        }
        self.db = data_dir / "benefitsync.sqlite3"

    def cmd(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "benefitsync", *args]

    def run(self, *args: str) -> str:
        done = subprocess.run(
            self.cmd(*args), env=self.env, capture_output=True, text=True, timeout=120, check=False
        )
        assert done.returncode == 0, done.stderr[-2000:]
        return done.stdout

    def start(self, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            self.cmd(*args), env=self.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        with sqlite3.connect(self.db, timeout=30) as conn:
            return list(conn.execute(sql))

    def wait_for_the_lease_to_run_out(self) -> None:
        """Until the running run's last heartbeat is more than LEASE seconds old (by the time
        the portal wrote it), not a fixed wait: the kill came up to LEASE / 3 after it."""
        rows = self.query("select heartbeat_at from personio_syncrun where status='running'")
        beats = [dt.datetime.fromisoformat(r[0]).replace(tzinfo=dt.UTC) for r in rows if r[0]]
        if not beats:  # the kill came after the run had finished
            return
        expires = max(beats) + dt.timedelta(seconds=LEASE + 0.1)
        time.sleep(max(0.0, (expires - dt.datetime.now(dt.UTC)).total_seconds()))

    def state(self) -> frozenset[tuple[Any, ...]]:
        return frozenset(
            self.query(
                "select personio_id, first_name, last_name, email, status, last_working_month, "
                "missing_from_personio from employees_employee"
            )
        )


@pytest.mark.slow
@pytest.mark.skipif(
    bool(os.environ.get("DATABASE_URL")),
    reason="uses its own SQLite installation; runs once, in the SQLite pass of the suite",
)
def test_killing_the_sync_process_never_leaves_a_half_applied_run(
    tmp_path: Path, slow_sandbox: SandboxHandle
) -> None:
    portal = Portal(tmp_path)
    portal.run("migrate", "--noinput")
    portal.run("companies", "create", "Crash GmbH", "--slug", "crash")
    portal.run(
        "personio",
        "connect",
        "crash",
        "--client-id",
        slow_sandbox.client_id,
        "--client-secret",
        slow_sandbox.client_secret,
        "--base-url",
        slow_sandbox.base_url,
    )  # connecting runs the first sync itself
    rng = random.Random(2026)
    interrupted = 0
    for kill in range(KILLS):
        for e in rng.sample([e for e in slow_sandbox.state.list_flat() if e["email"]], 3):
            slow_sandbox.state.patch_employee(e["id"], {"last_name": f"{e['last_name']}-{kill}"})
        before = portal.state()
        victim = portal.start("sync", "crash", "--json")
        # Wait until the run is claimed, then kill somewhere inside fetch, reconcile or apply.
        deadline = time.monotonic() + 60
        while not portal.query("select 1 from personio_syncrun where status='running'"):
            assert victim.poll() is None and time.monotonic() < deadline, "the sync never started"
            time.sleep(0.02)
        time.sleep(rng.uniform(0.0, 0.7))
        victim.send_signal(signal.SIGKILL)
        victim.wait(timeout=30)
        after_kill = portal.state()

        portal.wait_for_the_lease_to_run_out()  # then the next request reaps the stale run
        result = json.loads(portal.run("sync", "crash", "--json"))
        assert result["outcome"] in ("succeeded", "partly_failed"), result
        complete = portal.state()
        assert after_kill in (before, complete), f"kill {kill}: a half-applied run"
        stuck = portal.query("select count(*) from personio_syncrun where status='running'")
        assert stuck == [(0,)]
        interrupted = portal.query(
            "select count(*) from personio_syncrun where status='interrupted'"
        )[0][0]
    pids = [r[0] for r in portal.query("select personio_id from employees_employee")]
    assert len(pids) == len(set(pids))
    print(f"{KILLS} kills, {interrupted} runs interrupted mid-way")
