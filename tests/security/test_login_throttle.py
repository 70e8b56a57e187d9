"""Password guessing is throttled: after LOGIN_MAX_FAILURES failures the login is refused even
with the right password, until the lock expires."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.test import Client

from benefitsync.accounts.models import User


@pytest.fixture(autouse=True)
def _clean_cache() -> None:
    cache.clear()


@pytest.mark.django_db
def test_login_is_refused_after_too_many_failures_even_with_the_right_password(
    settings: object,
) -> None:
    User.objects.create_user("hr@nordlicht.example", "right-password-123")
    client = Client()
    for _ in range(5):
        response = client.post("/login/", {"username": "hr@nordlicht.example", "password": "wrong"})
        assert response.status_code == 200
    response = client.post(
        "/login/", {"username": "hr@nordlicht.example", "password": "right-password-123"}
    )
    assert response.status_code == 200
    assert "Too many failed logins" in response.content.decode()
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
def test_a_successful_login_before_the_limit_resets_the_count() -> None:
    User.objects.create_user("hr@nordlicht.example", "right-password-123")
    client = Client()
    for _ in range(4):
        client.post("/login/", {"username": "hr@nordlicht.example", "password": "wrong"})
    response = client.post(
        "/login/", {"username": "hr@nordlicht.example", "password": "right-password-123"}
    )
    assert response.status_code == 302
