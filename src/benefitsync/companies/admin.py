"""Back office: companies (the tenants) and memberships (who is HR admin where)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import Count, QuerySet
from django.forms import ModelForm
from django.http import HttpRequest

from benefitsync.accounts.models import User
from benefitsync.audit import services as audit
from benefitsync.companies.models import Company, Membership

# Django's admin classes and forms are generic only in django-stubs, not at runtime (no
# django_stubs_ext.monkeypatch in production), so class bases stay unsubscripted for Python.


def _actor(request: HttpRequest) -> User | None:
    return request.user if isinstance(request.user, User) else None


class MembershipInline(admin.TabularInline):  # type: ignore[type-arg]  # see module note
    model = Membership
    extra = 0
    autocomplete_fields = ("user",)
    readonly_fields = ("created_at",)


@admin.register(Company)
class CompanyAdmin(admin.ModelAdmin):  # type: ignore[type-arg]  # see module note
    list_display = ("name", "slug", "time_zone", "employee_count", "created_at")
    search_fields = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}
    readonly_fields = ("created_at",)
    inlines = (MembershipInline,)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Company]:
        companies: QuerySet[Company] = super().get_queryset(request)
        return companies.annotate(n_employees=Count("employees"))

    @admin.display(description="employees", ordering="n_employees")
    def employee_count(self, obj: Company) -> int:
        return int(getattr(obj, "n_employees", 0))

    def save_model(
        self, request: HttpRequest, obj: Company, form: ModelForm[Company], change: bool
    ) -> None:
        super().save_model(request, obj, form, change)
        audit.record(
            "company.update" if change else "company.create",
            company=obj,
            actor=_actor(request),
            target=obj.slug,
            fields=sorted(form.changed_data),
        )

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        instances = formset.save()
        for membership in instances:
            audit.record(
                "membership.save",
                company=membership.company,
                actor=_actor(request),
                target=str(membership.user),
            )
        for membership in formset.deleted_objects:
            audit.record(
                "membership.delete",
                company=membership.company,
                actor=_actor(request),
                target=str(membership.user),
            )


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):  # type: ignore[type-arg]  # see module note
    list_display = ("user", "company", "created_at")
    list_select_related = ("user", "company")
    list_filter = ("company",)
    search_fields = ("user__email", "company__name", "company__slug")
    autocomplete_fields = ("user", "company")
    readonly_fields = ("created_at",)
