"""The `benefitsync` console script: Django's management entry point (what manage.py is)."""

from __future__ import annotations

import gc
import os
import sys


def main() -> None:
    # Starting Django (its imports, the settings, django.setup()) makes some 55,000 objects the
    # cyclic garbage collector tracks, nearly all of which live as long as the process; it walked
    # them again and again while they were made, ~0.05 s of CPU in every command (a sixth of
    # `sync --help`), and found next to nothing to free. It is off until the command is fetched,
    # so every command itself runs with it.
    gc.disable()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "benefitsync.settings")
    from django.core.management import BaseCommand, ManagementUtility

    class Utility(ManagementUtility):
        def fetch_command(self, subcommand: str) -> BaseCommand:
            # Called after django.setup(), before any command runs or prints its --help.
            gc.enable()
            return super().fetch_command(subcommand)

    Utility(sys.argv).execute()


if __name__ == "__main__":
    main()
