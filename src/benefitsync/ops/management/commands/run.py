"""`benefitsync run`: the embedded default in one terminal — web server, job worker and the
Personio sandbox as child processes; Ctrl-C stops all three."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser


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
        commands: dict[str, list[str]]
        if options["scale"]:
            commands = {
                "web": [
                    sys.executable,
                    "-m",
                    "gunicorn",
                    "benefitsync.wsgi",
                    "-w",
                    "2",
                    "-b",
                    bind,
                ],
                "worker-1": [*base, "run_huey"],
                # Only one process runs the periodic scheduler; the others just work the queue.
                "worker-2": [*base, "run_huey", "--no-periodic"],
            }
        else:
            commands = {
                "web": [*base, "runserver", bind, "--noreload"],
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
        children = {
            name: subprocess.Popen(command, env=env)  # noqa: S603 - our own entry point
            for name, command in commands.items()
        }
        self.stdout.write(
            self.style.SUCCESS(f"benefitsync runs at http://{options['host']}:{options['port']}")
        )
        if not options["no_sandbox"]:
            self.stdout.write(
                f"Personio sandbox at {env['PERSONIO_BASE_URL']} "
                "(Client ID sandbox-client-id, Client Secret sandbox-client-secret)"
            )
        self.stdout.write("Press Ctrl-C to stop.")
        try:
            while True:
                for name, child in children.items():
                    if child.poll() is not None:
                        self.stderr.write(f"{name} stopped with exit code {child.returncode}")
                        raise SystemExit(child.returncode or 1)
                time.sleep(0.5)
        except KeyboardInterrupt:
            pass
        finally:
            for child in children.values():
                if child.poll() is None:
                    child.send_signal(signal.SIGINT)
            deadline = time.monotonic() + 10
            for child in children.values():
                try:
                    child.wait(timeout=max(0.1, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    child.kill()
