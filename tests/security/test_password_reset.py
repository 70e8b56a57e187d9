"""Password reset and change for every user, with Django's own views and tokens; the reset
e-mail goes out in the user's language."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from benefitsync.accounts.models import User

RIGHT = "right-password-123"
NEW = "a-new-password-456"


def _link(body: str) -> str:
    match = re.search(r"https?://[^/\s]+(/password/reset/[^\s]+/)", body)
    assert match, body
    return match.group(1)


@pytest.mark.django_db
def test_a_user_resets_a_forgotten_password_through_the_e_mailed_link() -> None:
    User.objects.create_user("hr@nordlicht.example", RIGHT)
    client = Client()
    response = client.post(reverse("accounts:password_reset"), {"email": "HR@nordlicht.example"})
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    link = _link(mail.outbox[0].body)
    form_page = client.get(link, follow=True)
    assert form_page.status_code == 200
    response = client.post(
        form_page.redirect_chain[-1][0], {"new_password1": NEW, "new_password2": NEW}
    )
    assert response.status_code == 302
    assert (
        client.post("/login/", {"username": "hr@nordlicht.example", "password": NEW}).status_code
        == 302
    )
    # The link works once.
    assert "not valid" in Client().get(link, follow=True).content.decode()


@pytest.mark.django_db
def test_the_reset_e_mail_is_in_the_language_the_user_last_logged_in_with() -> None:
    User.objects.create_user("anna@nordlicht.example", RIGHT)
    german = Client()
    german.cookies["django_language"] = "de"
    german.post("/login/", {"username": "anna@nordlicht.example", "password": RIGHT})
    assert User.objects.get().language == "de"
    # Asked for from an English page, the e-mail is still German: Anna reads German.
    Client().post(reverse("accounts:password_reset"), {"email": "anna@nordlicht.example"})
    assert "Passwort" in mail.outbox[-1].subject
    assert "Passwort" in mail.outbox[-1].body


@pytest.mark.django_db
def test_the_reset_link_points_at_the_configured_address_not_the_request_host(
    settings: object,
) -> None:
    User.objects.create_user("hr@nordlicht.example", RIGHT)
    settings.ALLOWED_HOSTS = ["*"]  # type: ignore[attr-defined]
    settings.BASE_URL = "https://portal.example"  # type: ignore[attr-defined]
    Client().post(
        reverse("accounts:password_reset"),
        {"email": "hr@nordlicht.example"},
        HTTP_HOST="evil.example",
    )
    assert "https://portal.example/password/reset/" in mail.outbox[-1].body
    assert "evil.example" not in mail.outbox[-1].body


@pytest.mark.django_db
def test_a_logged_in_user_changes_their_password() -> None:
    user = User.objects.create_user("hr@nordlicht.example", RIGHT)
    client = Client()
    client.force_login(user)
    response = client.post(
        reverse("accounts:password_change"),
        {"old_password": RIGHT, "new_password1": NEW, "new_password2": NEW},
    )
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.check_password(NEW)
