from __future__ import annotations

from django.urls import URLPattern, URLResolver

app_name = "personio"

urlpatterns: list[URLPattern | URLResolver] = []
