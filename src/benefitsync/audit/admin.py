"""Back office: the audit log, read-only; and the read-only admin the other logs reuse."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from benefitsync.audit.models import AuditEvent

# Django's admin classes and forms are generic only in django-stubs, not at runtime (no
# django_stubs_ext.monkeypatch in production), so class bases stay unsubscripted for Python.


class ReadOnlyModelAdmin(admin.ModelAdmin):  # type: ignore[type-arg]  # see module note
    """Shows rows, changes none: the rows are records of what services did."""

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        hidden = set(self.exclude or ())
        return [f.name for f in self.model._meta.concrete_fields if f.name not in hidden]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyModelAdmin):
    list_display = ("created_at", "action", "company", "actor", "target")
    list_select_related = ("company", "actor")
    list_filter = ("action", "company")
    search_fields = ("action", "target", "actor__email")
    date_hierarchy = "created_at"
    show_full_result_count = False
