"""The URL configuration. Company pages live under /c/<slug>/ and resolve the company through
`companies.access` (404 for outsiders)."""

from __future__ import annotations

from django.contrib import admin
from django.urls import include, path

from benefitsync import views

urlpatterns = [
    path("", views.home, name="home"),
    path("", include("benefitsync.accounts.urls")),
    path("admin/", admin.site.urls),
]
