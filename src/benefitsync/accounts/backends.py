"""The authentication backend: Django's ModelBackend behind the login throttle."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest

from benefitsync.accounts import throttle
from benefitsync.accounts.models import User


class ThrottledModelBackend(ModelBackend):
    """Every `authenticate()` (portal login, back-office login, any later login form) passes
    the throttle: a locked account is refused before its password is checked."""

    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> User | None:
        if username is None:
            username = kwargs.get("email")
        if username is None or password is None:
            return None
        email = throttle.canonical_email(username)
        address = throttle.client_address(request)
        if throttle.is_locked(email, address):
            # PermissionDenied stops Django from asking further backends; the form shows the
            # lockout message (accounts.forms.ThrottleMessageMixin).
            raise PermissionDenied("login throttled")
        user = super().authenticate(request, username=email, password=password)
        if user is None:
            throttle.record_failure(email, address)
        else:
            throttle.reset(email, address)
        return user
