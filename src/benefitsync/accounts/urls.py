from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.urls import path

from benefitsync.accounts import access, views

app_name = "accounts"

urlpatterns = [
    path("login/", access.public("GET", "POST")(views.LoginView.as_view()), name="login"),
    path("logout/", access.public("POST")(auth_views.LogoutView.as_view()), name="logout"),
    path(
        "password/reset/",
        access.public("GET", "POST")(views.PasswordResetView.as_view()),
        name="password_reset",
    ),
    path(
        "password/reset/sent/",
        access.public("GET")(auth_views.PasswordResetDoneView.as_view()),
        name="password_reset_done",
    ),
    path(
        "password/reset/<uidb64>/<token>/",
        access.public("GET", "POST")(views.PasswordResetConfirmView.as_view()),
        name="password_reset_confirm",
    ),
    path(
        "password/reset/done/",
        access.public("GET")(auth_views.PasswordResetCompleteView.as_view()),
        name="password_reset_complete",
    ),
    path(
        "password/change/",
        access.logged_in("GET", "POST")(views.PasswordChangeView.as_view()),
        name="password_change",
    ),
    path(
        "password/change/done/",
        access.logged_in("GET")(auth_views.PasswordChangeDoneView.as_view()),
        name="password_change_done",
    ),
]
