"""Back office: employees, read-mostly.

Every change of an employee goes through `employees.services` (audit log, leaving rules), so the
back office shows employees but does not edit or delete them here.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from benefitsync.benefits.models import EmployeeBenefit
from benefitsync.employees.models import Employee

# Django's admin classes and forms are generic only in django-stubs, not at runtime (no
# django_stubs_ext.monkeypatch in production), so class bases stay unsubscripted for Python.


class BenefitInline(admin.TabularInline):  # type: ignore[type-arg]  # see module note
    model = EmployeeBenefit
    extra = 0
    fields = ("kind", "monthly_amount", "start_month", "end_month", "end_reason")
    readonly_fields = fields
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Employee)
class EmployeeAdmin(admin.ModelAdmin):  # type: ignore[type-arg]  # see module note
    list_display = (
        "last_name",
        "first_name",
        "email",
        "personnel_number",
        "company",
        "status",
        "last_working_month",
        "source",
        "missing_from_personio",
    )
    list_select_related = ("company",)
    list_filter = ("status", "source", "missing_from_personio", "invitation_state", "company")
    search_fields = ("first_name", "last_name", "email", "personnel_number", "personio_id")
    show_full_result_count = False  # a COUNT over every employee of every company is not free
    list_per_page = 50
    inlines = (BenefitInline,)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [field.name for field in Employee._meta.concrete_fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
