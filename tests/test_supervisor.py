"""`benefitsync run`'s children: a crashed one comes back after a growing back-off, said in the
log; a healthy one is left alone; stopping ends them all."""

from __future__ import annotations

import logging
import sys
import threading
import time

import pytest

from benefitsync.ops.supervisor import Supervisor

CRASH = [sys.executable, "-c", "import sys; sys.exit(3)"]
SLEEP = [sys.executable, "-c", "import time; time.sleep(60)"]


def supervise(supervisor: Supervisor, seconds: float) -> None:
    runner = threading.Thread(target=supervisor.run)
    supervisor.start()
    runner.start()
    time.sleep(seconds)
    supervisor.stop()
    runner.join(timeout=10)


def test_a_crashed_child_is_restarted_with_a_growing_back_off_and_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    supervisor = Supervisor(
        {"worker": CRASH, "web": SLEEP}, base=0.1, cap=0.4, stable=60, poll=0.02
    )
    with caplog.at_level(logging.WARNING, logger="benefitsync.run"):
        supervise(supervisor, 2.0)
    worker, web = supervisor.children
    assert worker.restarts >= 3
    assert worker.delays[:4] == [0.1, 0.2, 0.4, 0.4]  # doubled each time, capped
    assert web.restarts == 0 and web.delays == []
    assert "worker stopped with exit code 3; restarting it in 0.1 s" in caplog.text
    assert "restarting worker (restart 1)" in caplog.text


def test_a_child_that_stayed_up_long_enough_restarts_after_the_first_back_off_again() -> None:
    supervisor = Supervisor({"worker": CRASH}, base=0.1, cap=10, stable=0.0, poll=0.02)
    supervise(supervisor, 1.0)
    (worker,) = supervisor.children
    assert worker.restarts >= 2
    assert set(worker.delays) == {0.1}


def test_stopping_ends_every_child_and_restarts_none() -> None:
    supervisor = Supervisor({"web": SLEEP, "sandbox": SLEEP}, base=0.05, poll=0.02, grace=5)
    supervise(supervisor, 0.5)
    for child in supervisor.children:
        assert child.process is not None and child.process.poll() is not None
        assert child.restarts == 0
