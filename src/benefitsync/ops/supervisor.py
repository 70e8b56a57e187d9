"""The child processes of `benefitsync run`: started together, a crashed one restarted with a
back-off (and said so in the log), all stopped together.

A worker or the sandbox that dies (a bug, the OOM killer, a kill -9) must not take the web
server down with it, nor come back in a tight loop that fills the log: the n-th restart in a
row waits `base * 2**(n-1)` seconds, at most `cap`; a child that then stays up for `stable`
seconds counts as healthy again and its next crash restarts after `base`. `stop()` (Ctrl-C,
SIGTERM) sends SIGINT to every child, waits up to `grace` seconds, then kills what is left.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

log = logging.getLogger("benefitsync.run")


@dataclass
class Child:
    """One supervised command and its current process."""

    name: str
    command: Sequence[str]
    process: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    crashes_in_a_row: int = 0
    restart_at: float | None = None  # time.monotonic() of the pending restart
    restarts: int = 0
    delays: list[float] = field(default_factory=list)  # the back-offs chosen, for tests and logs


class Supervisor:
    """Run `commands` (name → argv) as children until `stop()`; restart crashed ones."""

    def __init__(
        self,
        commands: Mapping[str, Sequence[str]],
        *,
        env: Mapping[str, str] | None = None,
        base: float = 1.0,
        cap: float = 30.0,
        stable: float = 60.0,
        grace: float = 10.0,
        poll: float = 0.2,
    ) -> None:
        self.children = [Child(name, list(command)) for name, command in commands.items()]
        self.env = dict(env if env is not None else os.environ)
        self.base, self.cap, self.stable, self.grace, self.poll = base, cap, stable, grace, poll
        self._stopping = threading.Event()

    def backoff(self, crashes_in_a_row: int) -> float:
        return float(min(self.cap, self.base * 2 ** (crashes_in_a_row - 1)))

    def _start(self, child: Child) -> None:
        child.process = subprocess.Popen(child.command, env=self.env)  # noqa: S603 - our own argv
        child.started_at = time.monotonic()
        child.restart_at = None

    def start(self) -> None:
        for child in self.children:
            self._start(child)

    def check(self) -> None:
        """One round: note children that exited, restart those whose back-off is over."""
        now = time.monotonic()
        for child in self.children:
            process = child.process
            if process is not None and process.poll() is not None and child.restart_at is None:
                if self._stopping.is_set():
                    continue
                if now - child.started_at >= self.stable:
                    child.crashes_in_a_row = 0
                child.crashes_in_a_row += 1
                delay = self.backoff(child.crashes_in_a_row)
                child.delays.append(delay)
                child.restart_at = now + delay
                log.warning(
                    "%s stopped with exit code %s; restarting it in %.1f s (crash %d in a row)",
                    child.name,
                    process.returncode,
                    delay,
                    child.crashes_in_a_row,
                )
            elif child.restart_at is not None and now >= child.restart_at:
                child.restarts += 1
                log.warning("restarting %s (restart %d)", child.name, child.restarts)
                self._start(child)

    def run(self) -> None:
        """Supervise until `stop()` is called (from a signal handler or another thread)."""
        while not self._stopping.is_set():
            self.check()
            self._stopping.wait(self.poll)

    def stop(self) -> None:
        """Stop supervising and end every child: SIGINT, then kill after `grace` seconds."""
        self._stopping.set()
        running = [c.process for c in self.children if c.process and c.process.poll() is None]
        for process in running:
            process.send_signal(signal.SIGINT)
        deadline = time.monotonic() + self.grace
        for process in running:
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log.warning("pid %s did not stop within %.0f s: killed", process.pid, self.grace)
                process.kill()
                process.wait()
