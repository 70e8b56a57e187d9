"""Operability URLs at the site root: /health/ and /metrics."""

from __future__ import annotations

from django.urls import URLPattern, path

from benefitsync.ops import views

app_name = "ops"

urlpatterns: list[URLPattern] = [
    path("health/", views.health, name="health"),
    path("metrics", views.metrics_view, name="metrics"),
]
