from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from benefitsync.companies import views

app_name = "companies"

urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.switch, name="switch"),
]
