"""`benefitsync health [--worker] [--any-host]`: exit 0 when healthy, 1 otherwise; prints JSON.

- without options: what `/health/` checks (database and job queue reachable), from this process;
- `--worker`: additionally a worker process on this machine wrote a heartbeat in the last 60 s
  (use it as the health check of a worker container or systemd unit);
- `--any-host`: with `--worker`, any machine's worker counts (a cluster-wide check).
"""

from __future__ import annotations

import json
import socket
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from benefitsync.ops.views import health_report


class Command(BaseCommand):
    help = "Check the database, the job queue and (with --worker) this machine's worker."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--worker", action="store_true", help="require a live worker on this machine"
        )
        parser.add_argument(
            "--any-host", action="store_true", help="with --worker: a live worker anywhere"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        healthy, body = health_report()
        if options["worker"]:
            host = socket.gethostname()
            live = [
                w
                for w in body.get("workers", [])
                if w["alive"] and (options["any_host"] or w["worker"].startswith(f"{host}:"))
            ]
            body["worker_check"] = "ok" if live else "error: no live worker"
            healthy = healthy and bool(live)
            if not healthy:
                body["status"] = "error"
        self.stdout.write(json.dumps(body, indent=2))
        if not healthy:
            raise SystemExit(1)
