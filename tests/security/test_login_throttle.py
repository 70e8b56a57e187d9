"""Password guessing is throttled: after LOGIN_MAX_FAILURES failures the login is refused even
with the right password, until the lock expires."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.cache import cache, caches
from django.core.cache.backends.db import DatabaseCache
from django.core.cache.backends.locmem import LocMemCache
from django.db import connection
from django.test import Client, RequestFactory
from django.urls import reverse

from benefitsync.accounts import throttle
from benefitsync.accounts.models import User


@pytest.fixture(autouse=True)
def _clean_cache() -> None:
    throttle.unlock_all()


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


# --- every login door, one throttle ---------------------------------------------------------------

RIGHT = "right-password-123"


def _fail(client: Client, url: str, username: str, times: int, **extra: str) -> None:
    for _ in range(times):
        client.post(url, {"username": username, "password": "wrong"}, **extra)  # type: ignore[arg-type]


@pytest.mark.django_db
def test_admin_login_is_throttled_like_the_portal_login() -> None:
    User.objects.create_superuser("support@benefitsync.example", RIGHT)
    client = Client()
    _fail(client, "/admin/login/", "support@benefitsync.example", 30)
    response = client.post(
        "/admin/login/?next=/admin/", {"username": "support@benefitsync.example", "password": RIGHT}
    )
    assert response.status_code == 200
    assert "Too many failed logins" in response.content.decode()
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
def test_a_look_alike_spelling_of_the_e_mail_shares_the_account_lock() -> None:
    User.objects.create_user("hr@nordlicht.example", RIGHT)
    client = Client()
    _fail(client, "/login/", "hr@nordlicht.example", 5)
    # Fullwidth "ｈ": Django's NFKC normalisation turns it into "h" before the password check.
    response = client.post("/login/", {"username": "ｈr@nordlicht.example", "password": RIGHT})
    assert "_auth_user_id" not in client.session
    assert "Too many failed logins" in response.content.decode()


@pytest.mark.django_db
def test_the_login_name_is_case_insensitive() -> None:
    User.objects.create_user("hr@nordlicht.example", RIGHT)
    client = Client()
    response = client.post("/login/", {"username": "Hr@Nordlicht.example", "password": RIGHT})
    assert response.status_code == 302
    assert "_auth_user_id" in client.session


@pytest.mark.django_db
def test_failures_from_a_shared_proxy_address_do_not_lock_out_the_right_password() -> None:
    User.objects.create_user("anna@nordlicht.example", RIGHT)
    guesser = Client(REMOTE_ADDR="10.0.0.1")
    for n in range(30):
        _fail(guesser, "/login/", f"nobody{n}@nordlicht.example", 1)
    colleague = Client(REMOTE_ADDR="10.0.0.1")
    response = colleague.post("/login/", {"username": "anna@nordlicht.example", "password": RIGHT})
    assert response.status_code == 302


@pytest.mark.django_db
def test_from_a_busy_address_an_account_gets_only_a_few_tries() -> None:
    User.objects.create_user("anna@nordlicht.example", RIGHT)
    guesser = Client(REMOTE_ADDR="10.0.0.1")
    for n in range(25):
        _fail(guesser, "/login/", f"nobody{n}@nordlicht.example", 1)
    _fail(guesser, "/login/", "anna@nordlicht.example", 2)
    response = guesser.post("/login/", {"username": "anna@nordlicht.example", "password": RIGHT})
    assert "_auth_user_id" not in guesser.session
    assert "Too many failed logins" in response.content.decode()
    # From elsewhere, Anna still has her tries: two failures are below the account's limit.
    elsewhere = Client(REMOTE_ADDR="192.0.2.7")
    response = elsewhere.post("/login/", {"username": "anna@nordlicht.example", "password": RIGHT})
    assert response.status_code == 302


@pytest.mark.django_db
def test_the_forwarded_address_counts_only_when_proxies_are_trusted(settings: Any) -> None:
    User.objects.create_user("anna@nordlicht.example", RIGHT)
    settings.TRUSTED_PROXY_HOPS = 1
    for n in range(25):
        Client(REMOTE_ADDR="10.0.0.1").post(
            "/login/",
            {"username": f"nobody{n}@nordlicht.example", "password": "wrong"},
            HTTP_X_FORWARDED_FOR="203.0.113.9",
        )
    _fail(
        Client(REMOTE_ADDR="10.0.0.1"),
        "/login/",
        "anna@nordlicht.example",
        2,
        HTTP_X_FORWARDED_FOR="198.51.100.1",
    )
    # Anna's own address (as the proxy saw it) is not the busy one: she logs in.
    anna = Client(REMOTE_ADDR="10.0.0.1")
    response = anna.post(
        "/login/",
        {"username": "anna@nordlicht.example", "password": RIGHT},
        HTTP_X_FORWARDED_FOR="198.51.100.1",
    )
    assert response.status_code == 302
    # Without trusted proxies a client cannot pick its address with the header.
    settings.TRUSTED_PROXY_HOPS = 0
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="1.2.3.4")
    assert throttle.client_address(request) == "10.0.0.1"


@pytest.mark.django_db
def test_throttle_counters_live_in_a_cache_every_web_process_shares() -> None:
    """A per-process memory cache forgets on restart and counts per process; the database
    cache (embedded default) or Redis (scale mode) do neither."""
    assert not isinstance(caches["default"], LocMemCache)
    _fail(Client(), "/login/", "hr@nordlicht.example", 1)
    if isinstance(caches["default"], DatabaseCache):
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT COUNT(*) FROM benefitsync_cache WHERE cache_key LIKE '%login-fail%'"
            )
            assert cursor.fetchone()[0] >= 1


@pytest.mark.django_db
def test_the_lockout_message_links_to_the_password_reset() -> None:
    User.objects.create_user("hr@nordlicht.example", RIGHT)
    client = Client()
    _fail(client, "/login/", "hr@nordlicht.example", 5)
    response = client.post("/login/", {"username": "hr@nordlicht.example", "password": RIGHT})
    assert f'href="{reverse("accounts:password_reset")}"' in response.content.decode()


@pytest.mark.django_db
def test_unlocking_everyone_forgets_only_the_throttle_s_counts() -> None:
    User.objects.create_user("hr@nordlicht.example", RIGHT)
    cache.set("someone-else-s-key", "kept")
    _fail(Client(), "/login/", "hr@nordlicht.example", 5)
    throttle.unlock_all()
    assert cache.get("someone-else-s-key") == "kept"
    response = Client().post("/login/", {"username": "hr@nordlicht.example", "password": RIGHT})
    assert response.status_code == 302
