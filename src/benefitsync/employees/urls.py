from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from benefitsync.employees import bulk_views, views

app_name = "employees"

urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.employee_list, name="list"),
    path("new/", views.employee_create, name="create"),
    path("export.csv", bulk_views.export, name="export"),
    path("bulk/", bulk_views.bulk, name="bulk"),
    path("<int:pk>/", views.employee_detail, name="detail"),
    path("<int:pk>/edit/", views.employee_edit, name="edit"),
]
