"""`benefitsync personio-sandbox --port 8900 --employees N --seed S …`: the local Personio."""

from __future__ import annotations

import argparse
from typing import Any

from django.core.management.base import BaseCommand

from benefitsync.integrations.personio.sandbox.server import add_arguments, run_from_options


class Command(BaseCommand):
    help = "Run the local Personio v1 sandbox (prints its demo credentials)."

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        add_arguments(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        run_from_options(options)
