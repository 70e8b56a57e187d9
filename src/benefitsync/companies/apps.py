from __future__ import annotations

from django.apps import AppConfig


class CompaniesConfig(AppConfig):
    name = "benefitsync.companies"
    label = "companies"
    verbose_name = "Companies"
