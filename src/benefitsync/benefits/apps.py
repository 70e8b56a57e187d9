from __future__ import annotations

from django.apps import AppConfig


class BenefitsConfig(AppConfig):
    name = "benefitsync.benefits"
    label = "benefits"
    verbose_name = "Benefits"
