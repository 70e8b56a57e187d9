"""Request bodies are bounded before anything reads them: an oversized upload is refused with
413 before CSRF, login or the view look at it."""

from __future__ import annotations

import io

import pytest
from django.test import Client

from benefitsync.accounts.models import User
from tests.conftest import ClientFor

TWO_HUNDRED_MB = 200 * 2**20
MULTIPART = "multipart/form-data; boundary=BoUnDaRy"


class NeverRead(io.BytesIO):
    """A request body that fails the test if anything reads it."""

    def read(self, *args: object) -> bytes:
        raise AssertionError("the oversized body was read")

    readline = read  # type: ignore[assignment]


@pytest.mark.django_db
def test_an_oversized_upload_is_refused_before_login_or_csrf_read_it() -> None:
    response = Client().post(
        "/me/receipts/",
        data=b"",
        content_type=MULTIPART,
        CONTENT_LENGTH=str(TWO_HUNDRED_MB),
        **{"wsgi.input": NeverRead()},
    )
    assert response.status_code == 413


@pytest.mark.django_db
def test_a_logged_in_employee_s_oversized_upload_is_refused_in_their_language(
    employee_a: User, client_for: ClientFor
) -> None:
    client = client_for(employee_a)
    client.cookies["django_language"] = "de"
    response = client.post(
        "/me/receipts/",
        data=b"",
        content_type=MULTIPART,
        CONTENT_LENGTH=str(TWO_HUNDRED_MB),
        **{"wsgi.input": NeverRead()},
    )
    assert response.status_code == 413
    assert "zu groß" in response.content.decode()
