from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from benefitsync.support import views

app_name = "support"

urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.company_list, name="companies"),
    path("companies/<int:pk>/filter/", views.company_filter, name="filter"),
    path("companies/<int:pk>/integration/", views.company_integration, name="integration"),
]
