from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from benefitsync.employee_area import views
from benefitsync.invitations import views as invitation_views

app_name = "employee_area"

urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.home, name="home"),
    path("vouchers/select/", views.select_voucher, name="select_voucher"),
    path("vouchers/<int:pk>/redeem/", views.redeem_voucher, name="redeem_voucher"),
    path("receipts/", views.receipts, name="receipts"),
    path("signup/<str:token>/", invitation_views.signup, name="signup"),
]
