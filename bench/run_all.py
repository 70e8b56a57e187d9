"""`make bench`: every benchmark in one go, each in its own processes, tables on stdout.

1. bench/personio_fetch.py — the client's bare fetch (skipped when the file is absent);
2. bench/sync_bench.py — 10k and 100k employees, on SQLite and on PostgreSQL (a database of its
   own, created and dropped here);
3. bench/scale_bench.py — the daily cycle with 1 and 2 workers, and the rate-limited 10k sync.

The machine (CPUs, memory, load) is printed first: the numbers mean little without it, and the
load average says whether something else was competing for the CPUs.

    .venv/bin/python bench/run_all.py [--only fetch,sync,scale] [--sizes 10000,100000]
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time
import uuid
from pathlib import Path

import psutil
import psycopg
from psycopg import sql

BENCH = Path(__file__).resolve().parent
PG_SERVER = os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432/postgres")


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def machine() -> str:
    mem = psutil.virtual_memory().total / 2**30
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    pg = "unreachable"
    try:
        with psycopg.connect(PG_SERVER, connect_timeout=3) as conn:
            row = conn.execute("SHOW server_version").fetchone()
            pg = str(row[0]) if row else "?"
    except psycopg.Error:
        pass
    return (
        f"machine: {os.cpu_count()} CPUs ({cpu_model()}), {mem:.1f} GiB RAM, "
        f"{platform.system()} {platform.release()}, Python {platform.python_version()}, "
        f"PostgreSQL {pg}; load average {load}"
    )


def run(args: list[str]) -> int:
    print(f"\n$ {' '.join(args)}", flush=True)
    started = time.monotonic()
    code = subprocess.run([sys.executable, *args], cwd=BENCH.parent, check=False).returncode
    print(f"(exit {code}, {time.monotonic() - started:.0f} s)", flush=True)
    return code


def sync_bench_postgres(employees: int) -> int:
    name = f"bs_bench_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    try:
        with psycopg.connect(PG_SERVER, autocommit=True, connect_timeout=3) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    except psycopg.Error as exc:
        print(f"\nsync_bench on PostgreSQL SKIPPED: {PG_SERVER} unreachable ({exc})")
        return 0
    base, _, _ = PG_SERVER.rpartition("/")
    try:
        return run(
            [
                str(BENCH / "sync_bench.py"),
                "--employees",
                str(employees),
                "--database-url",
                f"{base}/{name}",
            ]
        )
    finally:
        with psycopg.connect(PG_SERVER, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--only", default="fetch,sync,scale")
    parser.add_argument("--sizes", default="10000,100000")
    args = parser.parse_args()
    parts = set(args.only.split(","))
    print(machine(), flush=True)
    failures = 0
    if "fetch" in parts:
        if (BENCH / "personio_fetch.py").exists():
            failures += run([str(BENCH / "personio_fetch.py")]) != 0
        else:
            print("\nbench/personio_fetch.py is absent: the bare-fetch benchmark is skipped")
    if "sync" in parts:
        for size in (int(s) for s in args.sizes.split(",")):
            failures += run([str(BENCH / "sync_bench.py"), "--employees", str(size)]) != 0
            failures += sync_bench_postgres(size) != 0
    if "scale" in parts:
        failures += run([str(BENCH / "scale_bench.py")]) != 0
    print("\n" + machine(), flush=True)
    if failures:
        raise SystemExit(f"{failures} benchmark(s) failed")


if __name__ == "__main__":
    main()
