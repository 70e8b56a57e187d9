from __future__ import annotations

from django.urls import URLPattern, URLResolver

app_name = "support"

urlpatterns: list[URLPattern | URLResolver] = []
