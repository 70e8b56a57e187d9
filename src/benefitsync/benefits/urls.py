from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from benefitsync.benefits import desk_views, views

app_name = "benefits"

urlpatterns: list[URLPattern | URLResolver] = [
    path("employee/<int:employee_id>/add/", views.benefit_add, name="add"),
    path("<int:pk>/edit/", views.benefit_edit, name="edit"),
    path("<int:pk>/end/", views.benefit_end, name="end"),
    path("receipts/", desk_views.receipts_inbox, name="receipts"),
    path("receipts/approve/", desk_views.receipts_approve, name="receipts_approve"),
    path("vouchers/", desk_views.vouchers_by_month, name="vouchers"),
]
