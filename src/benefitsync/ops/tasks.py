"""Worker-side operability hooks (autoloaded by `benefitsync run_huey` like every app's tasks.py).

- a heartbeat thread per worker process (`ops.heartbeat`), for `/health/` and
  `benefitsync health --worker`;
- every sync job's log lines carry its company and run IDs (`lib.logging`), bound when Huey
  starts executing the job and cleared when it ends.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

from huey import signals
from huey.contrib.djhuey import HUEY, on_shutdown, on_startup, signal

from benefitsync.lib import logging as structured
from benefitsync.ops import heartbeat

log = logging.getLogger(__name__)


@on_startup("benefitsync-heartbeat")
def start_heartbeat() -> None:
    # `run_huey --no-periodic` (or -n): this worker does not run the scheduler.
    periodic = not any(arg in ("--no-periodic", "-n") for arg in sys.argv)
    heartbeat.start(periodic=periodic)


@on_shutdown("benefitsync-heartbeat")
def stop_heartbeat() -> None:
    heartbeat.stop()


@signal(signals.SIGNAL_EXECUTING)
def bind_log_context(signal_name: str, task: Any, *args: Any, **kwargs: Any) -> None:
    run_id = company_id = None
    # The jobs that carry out one run take its id first: run_sync, and the night's job.
    if task.name.endswith(("run_sync", "nightly")) and task.args:
        run_id = int(task.args[0])
    # Immediate mode (tests) runs jobs inline: no extra query there, query counts stay exact.
    if run_id is not None and not HUEY.immediate:
        try:
            from benefitsync.integrations.personio.models import SyncRun

            company_id = (
                SyncRun.objects.filter(pk=run_id).values_list("company_id", flat=True).first()
            )
        except Exception:  # logging context must never stop a job
            log.debug("no company for run %s", run_id, exc_info=True)
    structured.bind(company_id=company_id, run_id=run_id)


@signal(
    signals.SIGNAL_COMPLETE,
    signals.SIGNAL_ERROR,
    signals.SIGNAL_RETRYING,
    signals.SIGNAL_CANCELED,
    signals.SIGNAL_TIMEOUT,
)
def clear_log_context(signal_name: str, task: Any, *args: Any, **kwargs: Any) -> None:
    structured.bind(company_id=None, run_id=None)
