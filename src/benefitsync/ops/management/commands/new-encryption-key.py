"""`benefitsync new-encryption-key`: print a fresh key for BENEFITSYNC_ENCRYPTION_KEYS."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from benefitsync.lib import crypto


class Command(BaseCommand):
    help = "Print a new encryption key (prepend it to BENEFITSYNC_ENCRYPTION_KEYS to rotate)."

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdout.write(crypto.new_key())
