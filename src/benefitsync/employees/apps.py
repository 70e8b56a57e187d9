from __future__ import annotations

from django.apps import AppConfig


class EmployeesConfig(AppConfig):
    name = "benefitsync.employees"
    label = "employees"
    verbose_name = "Employees"
