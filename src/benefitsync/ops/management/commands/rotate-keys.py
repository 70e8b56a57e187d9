"""`benefitsync rotate-keys`: re-encrypt every stored secret under the primary key.

Rotation: prepend a new key to BENEFITSYNC_ENCRYPTION_KEYS (keep the old ones), restart, run
this command, then drop the old keys.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand
from django.db import transaction

from benefitsync.integrations.personio.models import PersonioIntegration
from benefitsync.lib import crypto


class Command(BaseCommand):
    help = "Re-encrypt every stored Personio secret under the primary encryption key."

    def handle(self, *args: Any, **options: Any) -> None:
        count = 0
        with transaction.atomic():
            for integration in PersonioIntegration.objects.select_for_update().exclude(
                client_secret_encrypted=""
            ):
                integration.client_secret_encrypted = crypto.rotate(
                    integration.client_secret_encrypted
                )
                integration.save(update_fields=["client_secret_encrypted"])
                count += 1
        self.stdout.write(f"Re-encrypted {count} secret(s) under the primary key.")
