"""The URL configuration.

Company pages live under /c/<slug>/ and resolve the company through `companies.access` (404 for
outsiders); the employee area under /me/; the support back office under /support/ and /admin/.
"""

from __future__ import annotations

from django.contrib import admin
from django.urls import URLPattern, URLResolver, include, path

from benefitsync import views
from benefitsync.api.employee import api
from benefitsync.integrations.personio import receiver

urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.home, name="home"),
    path("", include("benefitsync.accounts.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("companies/", include("benefitsync.companies.urls")),
    path("c/<slug:slug>/employees/", include("benefitsync.employees.urls")),
    path("c/<slug:slug>/employees/", include("benefitsync.employees.urls_actions")),
    path("c/<slug:slug>/benefits/", include("benefitsync.benefits.urls")),
    path("c/<slug:slug>/payroll/", include("benefitsync.payroll.urls")),
    path("c/<slug:slug>/personio/", include("benefitsync.integrations.personio.urls")),
    path("hooks/personio/<uuid:key>/", receiver.receive, name="personio_webhook"),
    path("me/", include("benefitsync.employee_area.urls")),
    path("api/", api.urls),
    path("support/", include("benefitsync.support.urls")),
    path("admin/", admin.site.urls),
    path("", include("benefitsync.ops.urls")),
]
