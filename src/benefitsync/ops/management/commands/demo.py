"""`benefitsync demo`: load the demo data once and print the logins."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from benefitsync.ops.demo import load_demo


class Command(BaseCommand):
    help = "Load demo data (once) and print the demo logins."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--employees", type=int, default=50)

    def handle(self, *args: Any, **options: Any) -> None:
        logins = load_demo(options["employees"])
        self.stdout.write("Demo data loaded." if logins.created else "Demo data already there.")
        self.stdout.write(f"  HR admin:      {logins.hr_email} / {logins.hr_password}")
        self.stdout.write(f"  Support staff: {logins.support_email} / {logins.support_password}")
