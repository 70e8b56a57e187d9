from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from benefitsync.payroll import views

app_name = "payroll"

urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.overview, name="overview"),
    path("export/", views.export, name="export"),
    path("exports/<int:pk>/", views.download, name="download"),
    path("close/", views.close, name="close"),
    path("settings/", views.settings, name="settings"),
]
