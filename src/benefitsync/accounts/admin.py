"""Back office: users. Log-in is by e-mail; roles follow from memberships, `is_staff` and the
employee link, so Django's groups are not used."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import BaseUserCreationForm
from django.contrib.auth.models import Group
from django.utils.translation import gettext_lazy as _

from benefitsync.accounts.models import User
from benefitsync.accounts.views import ThrottledAdminAuthenticationForm
from benefitsync.companies.models import Membership

# The back office's login shows the throttle's lockout message (the throttle itself is in the
# authentication backend, which the admin login calls like every other login form).
admin.site.login_form = ThrottledAdminAuthenticationForm

# Django's admin classes and forms are generic only in django-stubs, not at runtime (no
# django_stubs_ext.monkeypatch in production), so class bases stay unsubscripted for Python.


class UserCreationForm(BaseUserCreationForm):  # type: ignore[type-arg]  # see module note
    class Meta:
        model = User
        fields = ("email",)


class MembershipInline(admin.TabularInline):  # type: ignore[type-arg]  # see module note
    model = Membership
    fk_name = "user"
    extra = 0
    autocomplete_fields = ("company",)
    verbose_name = _("HR admin of")
    verbose_name_plural = _("HR admin of")


@admin.register(User)
class UserAdmin(DjangoUserAdmin):  # type: ignore[type-arg]  # see module note
    add_form = UserCreationForm
    ordering = ("email",)
    list_display = ("email", "first_name", "last_name", "is_staff", "is_active", "last_login")
    list_filter = ("is_staff", "is_superuser", "is_active")
    search_fields = ("email", "first_name", "last_name")
    readonly_fields = ("last_login", "date_joined")
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        (_("Personal info"), {"fields": ("first_name", "last_name")}),
        (
            _("Role"),
            {
                "fields": ("is_active", "is_staff", "is_superuser"),
                "description": _(
                    "Staff users are support staff of the platform. HR admins are users with a "
                    "company membership below."
                ),
            },
        ),
        (_("Important dates"), {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "password1", "password2")}),)
    inlines = (MembershipInline,)
    filter_horizontal = ()


admin.site.unregister(Group)
