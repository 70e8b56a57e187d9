"""A throwaway scale-mode deployment on this machine, for the multi-worker test and the scale
benchmark: a dedicated PostgreSQL database, a Huey queue name of its own on the local Redis, the
Personio sandbox and N `benefitsync run_huey` worker processes (the first one runs the periodic
scheduler, the others `--no-periodic`), all real processes talking over real sockets.

Everything it creates is removed by `close()` (database dropped, Redis keys of its queue deleted,
processes stopped), so parallel runs and repeated runs never collide.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
import redis
from psycopg import sql

from benefitsync.integrations.personio.sandbox.server import (
    free_port,
    sandbox_command,
    wait_for_port,
)

REPO = Path(__file__).resolve().parents[2]
DEFAULT_PG_SERVER = "postgres://postgres@127.0.0.1:5432/postgres"
DEFAULT_REDIS = "redis://127.0.0.1:6379/0"


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))


def postgres_unreachable(url: str) -> str | None:
    """None when a connection succeeds, else why not (for a skip or failure message)."""
    try:
        psycopg.connect(url, connect_timeout=3).close()
    except psycopg.Error as exc:
        return f"PostgreSQL at {url} is unreachable: {str(exc).strip().splitlines()[0]}"
    return None


def redis_unreachable(url: str) -> str | None:
    try:
        redis.Redis.from_url(url, socket_connect_timeout=3).ping()
    except redis.RedisError as exc:
        return f"Redis at {url} is unreachable: {exc}"
    return None


class Cluster:
    def __init__(
        self,
        *,
        pg_server_url: str,
        redis_url: str,
        data_dir: Path,
        worker_threads: int = 2,
        extra_env: dict[str, str] | None = None,
    ) -> None:
        self.tag = f"bs_scale_{os.getpid()}_{uuid.uuid4().hex[:8]}"
        self.pg_server_url = pg_server_url
        self.db_url = with_database(pg_server_url, self.tag)
        self.redis_url = redis_url
        self.queue_name = self.tag
        self.data_dir = data_dir
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.workers: list[subprocess.Popen[bytes]] = []
        self.worker_logs: list[Path] = []
        self.sandbox: subprocess.Popen[bytes] | None = None
        self.sandbox_url = ""
        self._logs: list[IO[bytes]] = []
        env = {
            k: v
            for k, v in os.environ.items()
            # Nothing of the parent's test configuration may leak into the cluster.
            if k not in {"DATABASE_URL", "REDIS_URL", "HUEY_IMMEDIATE", "TEST_DATABASE_NAME"}
        }
        env.update(
            {
                "DJANGO_SETTINGS_MODULE": "benefitsync.settings",
                "DATABASE_URL": self.db_url,
                "REDIS_URL": redis_url,
                "HUEY_QUEUE_NAME": self.queue_name,
                "HUEY_IMMEDIATE": "false",
                "HUEY_WORKERS": str(worker_threads),
                "BENEFITSYNC_DATA_DIR": str(data_dir),
                "BENEFITSYNC_FAST_PASSWORD_HASHER": "true",
                "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
                "LOG_LEVEL": "INFO",
                "PYTHONPATH": os.pathsep.join(
                    p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p
                ),
            }
        )
        env.update(extra_env or {})
        self.env = env

    # -- lifecycle ---------------------------------------------------------------------------

    def create(self) -> None:
        with psycopg.connect(self.pg_server_url, autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(self.tag)))
        self.manage("migrate", "--noinput", "-v0")

    def close(self) -> None:
        self.stop_workers()
        if self.sandbox is not None:
            self.sandbox.terminate()
            try:
                self.sandbox.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.sandbox.kill()
            self.sandbox = None
        for f in self._logs:
            f.close()
        self._logs.clear()
        conn = redis.Redis.from_url(self.redis_url)
        keys = list(conn.scan_iter(match=f"*{self.queue_name}*", count=1000))
        if keys:
            conn.delete(*keys)
        with psycopg.connect(self.pg_server_url, autocommit=True) as pg:
            pg.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(self.tag))
            )

    def __enter__(self) -> Cluster:
        try:
            self.create()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- processes ---------------------------------------------------------------------------

    def manage(self, *args: str, timeout: float = 300) -> str:
        out = subprocess.run(
            [sys.executable, "-m", "benefitsync", *args],
            env=self.env,
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if out.returncode != 0:
            raise RuntimeError(f"benefitsync {' '.join(args)} failed:\n{out.stdout}\n{out.stderr}")
        return out.stdout

    def driver(self, *args: str, timeout: float = 600) -> dict[str, Any]:
        out = subprocess.run(
            [sys.executable, "-m", "tests.scale.driver", *args],
            env=self.env,
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if out.returncode != 0:
            raise RuntimeError(f"driver {' '.join(args)} failed:\n{out.stdout}\n{out.stderr}")
        result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
        return result

    def start_sandbox(self, *, employees: int, extra: Sequence[str] = ()) -> str:
        port = free_port()
        log = (self.data_dir / "sandbox.log").open("ab")
        self._logs.append(log)
        self.sandbox = subprocess.Popen(
            sandbox_command(port, employees, options=extra),
            env=self.env,
            cwd=REPO,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        wait_for_port(port, self.sandbox, 120)
        self.sandbox_url = f"http://127.0.0.1:{port}"
        return self.sandbox_url

    def start_workers(self, count: int) -> None:
        """`count` worker processes; only the first runs the periodic scheduler."""
        for n in range(count):
            path = self.data_dir / f"worker-{n + 1}.log"
            log = path.open("ab")
            self._logs.append(log)
            args = [sys.executable, "-m", "benefitsync", "run_huey"]
            if n > 0:
                args.append("--no-periodic")
            self.workers.append(
                subprocess.Popen(args, env=self.env, cwd=REPO, stdout=log, stderr=subprocess.STDOUT)
            )
            self.worker_logs.append(path)

    def stop_workers(self) -> None:
        for proc in self.workers:
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)  # Huey's graceful stop
        for proc in self.workers:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
        self.workers.clear()

    def executed_per_worker(
        self, task_suffixes: tuple[str, ...] = ("run_sync", "nightly")
    ) -> list[int]:
        """How many jobs of those tasks (by default: the jobs that carry out a run — a run
        queued by hand, and the night's run with its webhook check) each worker started, from
        its log."""
        counts = []
        for path in self.worker_logs:
            text = path.read_text(errors="replace")
            counts.append(
                sum(
                    1
                    for line in text.splitlines()
                    if "Executing" in line and any(s in line for s in task_suffixes)
                )
            )
        return counts

    # -- database ----------------------------------------------------------------------------

    def query(self, query: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with psycopg.connect(self.db_url, autocommit=True) as conn:
            return list(conn.execute(query, params).fetchall())  # type: ignore[arg-type]

    def run_statuses(self) -> dict[str, int]:
        return dict(self.query("SELECT status, count(*) FROM personio_syncrun GROUP BY status"))

    def wait_until_finished(self, expected: int, timeout: float) -> float:
        """Wait until `expected` runs exist and none is queued or running; returns the time."""
        started = time.monotonic()
        deadline = started + timeout
        while True:
            statuses = self.run_statuses()
            total = sum(statuses.values())
            busy = statuses.get("queued", 0) + statuses.get("running", 0)
            if total >= expected and busy == 0:
                return time.monotonic() - started
            for proc, path in zip(self.workers, self.worker_logs, strict=True):
                if proc.poll() is not None:
                    raise RuntimeError(
                        f"worker exited with {proc.returncode}:\n{path.read_text()[-3000:]}"
                    )
            if time.monotonic() > deadline:
                raise TimeoutError(f"runs not finished after {timeout}s: {statuses}")
            time.sleep(0.2)
