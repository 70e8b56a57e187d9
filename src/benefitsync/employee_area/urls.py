from __future__ import annotations

from django.urls import URLPattern, URLResolver

app_name = "employee_area"

urlpatterns: list[URLPattern | URLResolver] = []
