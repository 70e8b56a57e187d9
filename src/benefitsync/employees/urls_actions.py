"""HR-admin actions on an employee (views in `employee_area.hr_views`), under
/c/<slug>/employees/. Each URL is a confirmation page (GET) and the action (POST)."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from benefitsync.employee_area import hr_views

app_name = "employee_actions"

urlpatterns: list[URLPattern | URLResolver] = [
    path("<int:pk>/terminate/", hr_views.terminate, name="terminate"),
    path("<int:pk>/delete/", hr_views.delete, name="delete"),
    path("<int:pk>/invite/", hr_views.invite, name="invite"),
    path("receipts/<int:pk>/decide/", hr_views.receipt_decide, name="receipt_decide"),
    path("receipts/<int:pk>/file/", hr_views.receipt_file, name="receipt_file"),
]
