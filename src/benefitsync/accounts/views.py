"""The one login page for every role, throttled against password guessing, and the password
reset and change pages (Django's own views and tokens)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm, PasswordResetForm
from django.core.exceptions import ValidationError
from django.urls import reverse, reverse_lazy
from django.utils import translation
from django.utils.html import format_html
from django.utils.translation import gettext as _

from benefitsync.accounts import throttle


class ThrottleMessageMixin:
    """The lockout message (with the link to the password reset) instead of "wrong password"
    when the throttle refused the login. The throttle itself is in the authentication backend,
    which every login form calls."""

    request: Any
    cleaned_data: dict[str, Any]

    def get_invalid_login_error(self) -> ValidationError:
        email = str(self.cleaned_data.get("username") or "")
        if throttle.is_locked(email, throttle.client_address(self.request)):
            message = format_html(
                '{} <a href="{}">{}</a>',
                _(
                    "Too many failed logins. Wait a few minutes, then try again or reset your "
                    "password."
                ),
                reverse("accounts:password_reset"),
                _("Reset your password"),
            )
            return ValidationError(message, code="throttled")
        error: ValidationError = super().get_invalid_login_error()  # type: ignore[misc]  # the form's
        return error


class ThrottledAuthenticationForm(ThrottleMessageMixin, AuthenticationForm):
    pass


class ThrottledAdminAuthenticationForm(ThrottleMessageMixin, AdminAuthenticationForm):
    pass


class LoginView(auth_views.LoginView):
    form_class = ThrottledAuthenticationForm
    redirect_authenticated_user = True


class LocalizedPasswordResetForm(PasswordResetForm):
    """Sends the reset e-mail in the language the user last used the portal in (stored at each
    login), or in the language of the page the reset was asked on."""

    def send_mail(
        self,
        subject_template_name: str,
        email_template_name: str,
        context: dict[str, Any],
        from_email: str | None,
        to_email: str,
        html_email_template_name: str | None = None,
    ) -> None:
        user = context.get("user")
        language = getattr(user, "language", "") or translation.get_language()
        with translation.override(language):
            super().send_mail(
                subject_template_name,
                email_template_name,
                context,
                from_email,
                to_email,
                html_email_template_name,
            )


class PasswordResetView(auth_views.PasswordResetView):
    form_class = LocalizedPasswordResetForm
    email_template_name = "registration/password_reset_email.txt"
    subject_template_name = "registration/password_reset_subject.txt"
    success_url = reverse_lazy("accounts:password_reset_done")

    @property
    def extra_email_context(self) -> dict[str, Any]:
        # The link points at the configured address, never at the request's Host header.
        return {"base_url": settings.BASE_URL.rstrip("/")}


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    success_url = reverse_lazy("accounts:password_reset_complete")


class PasswordChangeView(auth_views.PasswordChangeView):
    success_url = reverse_lazy("accounts:password_change_done")
