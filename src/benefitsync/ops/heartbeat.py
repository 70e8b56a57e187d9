"""Worker heartbeats: how the web process and `benefitsync health --worker` know a worker lives.

Every `benefitsync run_huey` process starts one daemon thread (`ops.tasks`, a Huey startup hook)
that writes `{"host", "pid", "at", "periodic"}` under its own key in the Huey storage every
`INTERVAL` seconds — Redis in scale mode, the SQLite queue file in the embedded default — so a
worker on any machine is visible wherever the queue is. A worker is alive while its last beat is
younger than `STALE_AFTER`; a graceful stop deletes its key, a crashed worker's key goes stale and
is pruned after a day.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)

PREFIX = "benefitsync:worker-heartbeat:"
INTERVAL = 10.0
STALE_AFTER = 60.0
FORGET_AFTER = 86400.0

_started = threading.Lock()
_thread: threading.Thread | None = None
_stop = threading.Event()


@dataclass(frozen=True)
class Beat:
    worker: str
    host: str
    pid: int
    at: float
    periodic: bool

    def age(self, now: float | None = None) -> float:
        return max(0.0, (time.time() if now is None else now) - self.at)

    def alive(self, now: float | None = None) -> bool:
        return self.age(now) < STALE_AFTER


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _huey() -> Any:
    from huey.contrib.djhuey import HUEY

    return HUEY


def beat(*, periodic: bool, huey: Any = None) -> None:
    """Write this process's heartbeat now."""
    value = {
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "at": time.time(),
        "periodic": periodic,
    }
    (huey or _huey()).storage.put_data(PREFIX + worker_id(), json.dumps(value).encode())


def forget(huey: Any = None) -> None:
    """Remove this process's heartbeat (graceful stop)."""
    (huey or _huey()).storage.delete_data(PREFIX + worker_id())


def beats(huey: Any = None, *, now: float | None = None) -> list[Beat]:
    """Every worker's last heartbeat, newest first; beats older than a day are deleted."""
    storage = (huey or _huey()).storage
    moment = time.time() if now is None else now
    found = []
    for key, raw in storage.result_items().items():
        name = key.decode() if isinstance(key, bytes) else str(key)
        if not name.startswith(PREFIX):
            continue
        try:
            data = json.loads(raw)
            item = Beat(
                worker=name.removeprefix(PREFIX),
                host=str(data["host"]),
                pid=int(data["pid"]),
                at=float(data["at"]),
                periodic=bool(data.get("periodic", False)),
            )
        except (ValueError, KeyError, TypeError):
            storage.delete_data(name)
            continue
        if item.age(moment) > FORGET_AFTER:
            storage.delete_data(name)
            continue
        found.append(item)
    return sorted(found, key=lambda b: -b.at)


def start(*, periodic: bool) -> None:
    """Start the heartbeat thread once per process (Huey calls startup hooks once per thread)."""
    global _thread
    with _started:
        if _thread is not None and _thread.is_alive():
            return
        _stop.clear()

        def loop() -> None:
            while not _stop.is_set():
                try:
                    beat(periodic=periodic)
                except Exception:  # the queue may be down for a moment; keep beating
                    log.warning("could not write the worker heartbeat", exc_info=True)
                _stop.wait(INTERVAL)

        _thread = threading.Thread(target=loop, name="worker-heartbeat", daemon=True)
        _thread.start()


def stop() -> None:
    """Stop beating and remove the key (Huey shutdown hook)."""
    _stop.set()
    try:
        forget()
    except Exception:  # shutting down; a stale key just ages out
        log.debug("could not remove the worker heartbeat", exc_info=True)
