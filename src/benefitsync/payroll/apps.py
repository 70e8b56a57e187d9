from __future__ import annotations

from django.apps import AppConfig


class PayrollConfig(AppConfig):
    name = "benefitsync.payroll"
    label = "payroll"
    verbose_name = "Payroll"
