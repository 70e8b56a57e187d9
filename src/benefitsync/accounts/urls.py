from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.urls import path

from benefitsync.accounts import access
from benefitsync.accounts.views import LoginView

app_name = "accounts"

urlpatterns = [
    path("login/", access.public("GET", "POST")(LoginView.as_view()), name="login"),
    path("logout/", access.public("POST")(auth_views.LogoutView.as_view()), name="logout"),
]
