"""`benefitsync payroll export …` exactly as an operator types it, on the demo data that
`make run` loads: a fresh data directory, migrate, demo, export (issue 16: "the command above
works as written"; "the export shows real figures right after make run")."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from benefitsync.lib.months import Month, local_today
from benefitsync.payroll.statutory import TABLES

pytestmark = pytest.mark.slow

BIN = Path(sys.executable).parent / "benefitsync"


def run(data_dir: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env["BENEFITSYNC_DATA_DIR"] = str(data_dir)
    return subprocess.run([str(BIN), *args], env=env, capture_output=True, timeout=240)


def test_the_command_exports_the_demo_companys_month(tmp_path: Path) -> None:
    this_month = Month.of(local_today("Europe/Berlin"))
    last_month = this_month.previous()
    if this_month.year not in TABLES or last_month.year not in TABLES:
        pytest.skip(f"statutory values for {this_month.year} are not filled in yet")
    assert run(tmp_path, "migrate", "--noinput").returncode == 0
    demo = run(tmp_path, "demo")
    assert demo.returncode == 0, demo.stderr.decode()

    lodas = run(
        tmp_path, "payroll", "export", "nordlicht", "--month", str(last_month),
        "--format", "datev-lodas",
    )  # fmt: skip
    assert lodas.returncode == 0, lodas.stderr.decode()
    text = lodas.stdout.decode("cp1252")
    assert text.startswith("[Allgemein]\r\nZiel=LODAS\r\n")
    movements = text.split("[Bewegungsdaten]\r\n", 1)[1].splitlines()
    assert len(movements) > 20 and all(line.startswith("10;01/") for line in movements)

    target = tmp_path / "this-month.csv"
    csv = run(
        tmp_path, "payroll", "export", "nordlicht", "--month", str(this_month),
        "--format", "csv", "--output", str(target),
    )  # fmt: skip
    assert csv.returncode == 0, csv.stderr.decode()
    rows = target.read_bytes().decode("utf-8-sig").splitlines()
    # The demo closed last month and approved one of its receipts afterwards: a correction.
    assert any(row.endswith(f";{last_month}") and "correction" in row for row in rows)
    assert any("over the 50 € Freigrenze" in row for row in rows)
    assert b"sha256" in csv.stderr
