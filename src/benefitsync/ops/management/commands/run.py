"""`benefitsync run`: the embedded default in one terminal — web server (gunicorn, static files
collected and served by WhiteNoise as in production), job worker and the Personio sandbox as child
processes. A crashed child is restarted with a back-off (`ops/supervisor.py`); Ctrl-C stops all."""

from __future__ import annotations

import os
import signal
import sys
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser

from benefitsync.ops.supervisor import Supervisor


class Command(BaseCommand):
    help = "Start the web server, the job worker and the Personio sandbox together."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--sandbox-port", type=int, default=8900)
        parser.add_argument("--sandbox-employees", type=int, default=60)
        parser.add_argument("--no-sandbox", action="store_true")
        parser.add_argument(
            "--scale",
            action="store_true",
            help="gunicorn web + 2 worker processes (one runs the scheduler); for PostgreSQL+Redis",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        base = [sys.executable, "-m", "benefitsync"]
        env = dict(os.environ)
        if not options["no_sandbox"]:
            env.setdefault("PERSONIO_BASE_URL", f"http://127.0.0.1:{options['sandbox_port']}")
        bind = f"{options['host']}:{options['port']}"
        # Where Personio's webhooks reach this portal unless BENEFITSYNC_PUBLIC_URL says.
        everywhere = ("0.0.0.0", "::", "")  # noqa: S104 - compared with, not bound to
        served_host = "127.0.0.1" if options["host"] in everywhere else options["host"]
        env["BENEFITSYNC_SERVED_AT"] = f"http://{served_host}:{options['port']}"
        gunicorn = [
            sys.executable,
            "-m",
            "gunicorn",
            "benefitsync.wsgi",
            "--bind",
            bind,
            "--access-logfile",
            "-",
            # gunicorn's control socket defaults to one path per user (~/.gunicorn): two
            # checkouts running at once would fight over it, and nothing here uses it.
            "--no-control-socket",
        ]
        commands: dict[str, list[str]]
        if options["scale"]:
            commands = {
                "web": [*gunicorn, "--workers", "2"],
                "worker-1": [*base, "run_huey"],
                # Only one process runs the periodic scheduler; the others just work the queue.
                "worker-2": [*base, "run_huey", "--no-periodic"],
            }
        else:
            commands = {
                # The same production server as the scale mode (one process, threads: SQLite
                # takes one writer at a time anyway).
                "web": [*gunicorn, "--workers", "1", "--threads", "4"],
                "worker": [*base, "run_huey"],
            }
        if not options["no_sandbox"]:
            commands["sandbox"] = [
                *base,
                "personio-sandbox",
                "--port",
                str(options["sandbox_port"]),
                "--employees",
                str(options["sandbox_employees"]),
                "--seed",
                "1",
            ]
        # Static files as in production: collected into STATIC_ROOT, served by WhiteNoise.
        call_command("collectstatic", interactive=False, verbosity=0)
        supervisor = Supervisor(commands, env=env)
        supervisor.start()
        self.stdout.write(
            self.style.SUCCESS(f"benefitsync runs at http://{options['host']}:{options['port']}")
        )
        if not options["no_sandbox"]:
            self.stdout.write(
                f"Personio sandbox at {env['PERSONIO_BASE_URL']} "
                "(Client ID sandbox-client-id, Client Secret sandbox-client-secret)"
            )
        self.stdout.write("Press Ctrl-C to stop.")

        def terminate(signum: int, frame: object) -> None:
            raise KeyboardInterrupt

        # A service manager stops us with SIGTERM: the same clean stop as Ctrl-C.
        signal.signal(signal.SIGTERM, terminate)
        try:
            supervisor.run()
        except KeyboardInterrupt:
            pass
        finally:
            supervisor.stop()
