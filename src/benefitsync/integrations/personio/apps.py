from __future__ import annotations

from django.apps import AppConfig


class PersonioConfig(AppConfig):
    name = "benefitsync.integrations.personio"
    label = "personio"
    verbose_name = "Personio integration"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from benefitsync.integrations.personio import signals  # noqa: F401 - connects receivers
        from benefitsync.lib.memory import cap_malloc_arenas

        # The client's page threads would otherwise keep a malloc arena each (lib/memory.py).
        cap_malloc_arenas()
