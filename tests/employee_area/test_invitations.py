"""Invitations: one e-mail per automatic invitation, sent once; the sign-up link's life cycle."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from benefitsync.companies.models import Company
from benefitsync.employees.models import Employee, InvitationState
from benefitsync.invitations import outbox
from benefitsync.invitations.models import Invitation, OutboundEmail
from benefitsync.invitations.outbox import message_body
from benefitsync.invitations.services import (
    InvitationRefused,
    check_token,
    do_invite,
    first_invitation_key,
)

from .conftest import PASSWORD


@pytest.fixture
def newcomer(company: Company) -> Employee:
    return Employee.objects.create(
        company=company, first_name="Jana", last_name="Neumann", email="Jana.Neumann@acme.test"
    )


def _link(body: str) -> str:
    match = re.search(r"https?://\S+/me/signup/(\S+)/", body)
    assert match, body
    return match.group(1)


def test_inviting_twice_automatically_queues_and_sends_one_email(newcomer: Employee) -> None:
    first = do_invite(newcomer, acting_user=None)
    second = do_invite(newcomer, acting_user=None)
    assert first is not None and second is None
    assert Invitation.objects.filter(employee=newcomer).count() == 1
    assert list(OutboundEmail.objects.values_list("key", flat=True)) == [
        first_invitation_key(newcomer.pk)
    ]
    assert outbox.send_pending(10) == 1
    assert outbox.send_pending(10) == 0
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["Jana.Neumann@acme.test"]
    newcomer.refresh_from_db()
    assert newcomer.invitation_state == InvitationState.INVITED


def test_the_invitation_email_is_in_german_and_english_and_stores_only_a_token_hash(
    newcomer: Employee,
) -> None:
    do_invite(newcomer, acting_user=None)
    email = OutboundEmail.objects.get()
    assert "Hallo Jana" in email.body and "Hello Jana" in email.body
    token = _link(message_body(email))
    assert not Invitation.objects.filter(token_hash=token).exists()
    assert check_token(token).problem == ""


def test_a_manual_resend_sends_a_new_link_and_the_old_one_stops_working(
    newcomer: Employee,
) -> None:
    do_invite(newcomer, acting_user=None)
    old = _link(message_body(OutboundEmail.objects.get()))
    do_invite(newcomer, acting_user=None, resend=True)
    assert OutboundEmail.objects.count() == 2
    new = _link(
        message_body(OutboundEmail.objects.exclude(key=first_invitation_key(newcomer.pk)).get())
    )
    assert check_token(old).problem == "expired"
    assert check_token(new).problem == ""
    outbox.send_pending()
    assert len(mail.outbox) == 2


def test_a_failing_mail_backend_is_retried_and_the_error_recorded(
    newcomer: Employee, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    do_invite(newcomer, acting_user=None)

    def broken(self: Any, *args: Any, **kwargs: Any) -> int:
        raise ConnectionRefusedError("smtp down")

    monkeypatch.setattr("django.core.mail.EmailMessage.send", broken)
    assert outbox.send_pending() == 0
    row = OutboundEmail.objects.get()
    assert row.attempts == 1 and "smtp down" in row.last_error and row.sent_at is None
    monkeypatch.undo()
    assert outbox.send_pending() == 1
    assert OutboundEmail.objects.get().sent_at is not None
    assert len(mail.outbox) == 1


def test_a_row_claimed_by_another_worker_is_not_sent_again(newcomer: Employee) -> None:
    do_invite(newcomer, acting_user=None)
    OutboundEmail.objects.update(claimed_at=timezone.now())
    assert outbox.send_pending() == 0
    assert mail.outbox == []


def test_employees_without_email_or_already_signed_up_are_not_invited(
    company: Company, newcomer: Employee
) -> None:
    nobody = Employee.objects.create(company=company, first_name="No", last_name="Mail")
    with pytest.raises(InvitationRefused, match="no e-mail"):
        do_invite(nobody, acting_user=None)
    from benefitsync.accounts.models import User

    newcomer.user = User.objects.create_user(email="jana.neumann@acme.test", password=PASSWORD)
    newcomer.save()
    with pytest.raises(InvitationRefused, match="already signed up"):
        do_invite(newcomer, acting_user=None)


def test_signing_up_through_the_link_sets_the_password_logs_in_and_opens_my_page(
    newcomer: Employee,
) -> None:
    do_invite(newcomer, acting_user=None)
    token = _link(message_body(OutboundEmail.objects.get()))
    client = Client()
    url = reverse("employee_area:signup", kwargs={"token": token})
    page = client.get(url)
    assert page.status_code == 200 and b"Jana.Neumann@acme.test" in page.content
    response = client.post(url, {"password1": "Sunny-Meadow-77", "password2": "Sunny-Meadow-77"})
    assert response.status_code == 302 and response["Location"] == reverse("employee_area:home")
    assert client.get(reverse("employee_area:home")).status_code == 200
    newcomer.refresh_from_db()
    assert newcomer.user is not None and newcomer.user.email == "jana.neumann@acme.test"
    assert newcomer.invitation_state == InvitationState.SIGNED_UP
    assert Client().login(email="jana.neumann@acme.test", password="Sunny-Meadow-77")


def test_a_used_link_says_it_was_used(newcomer: Employee) -> None:
    do_invite(newcomer, acting_user=None)
    url = reverse(
        "employee_area:signup", kwargs={"token": _link(message_body(OutboundEmail.objects.get()))}
    )
    Client().post(url, {"password1": "Sunny-Meadow-77", "password2": "Sunny-Meadow-77"})
    again = Client().get(url)
    assert again.status_code == 410
    assert b"already been used" in again.content


def test_an_expired_link_says_it_expired(newcomer: Employee) -> None:
    do_invite(newcomer, acting_user=None, now=timezone.now() - dt.timedelta(days=15))
    url = reverse(
        "employee_area:signup", kwargs={"token": _link(message_body(OutboundEmail.objects.get()))}
    )
    page = Client().get(url)
    assert page.status_code == 410 and b"expired" in page.content
    posted = Client().post(url, {"password1": "Sunny-Meadow-77", "password2": "Sunny-Meadow-77"})
    assert posted.status_code == 410
    newcomer.refresh_from_db()
    assert newcomer.user is None


def test_an_unknown_link_is_not_found(db: None) -> None:
    page = Client().get(reverse("employee_area:signup", kwargs={"token": "nonsense"}))
    assert page.status_code == 404 and b"not valid" in page.content


def test_mismatched_or_weak_passwords_keep_the_link_usable(newcomer: Employee) -> None:
    do_invite(newcomer, acting_user=None)
    token = _link(message_body(OutboundEmail.objects.get()))
    url = reverse("employee_area:signup", kwargs={"token": token})
    assert Client().post(url, {"password1": "123", "password2": "123"}).status_code == 400
    mismatch = {"password1": "Sunny-Meadow-77", "password2": "Sunny-Meadow-78"}
    assert Client().post(url, mismatch).status_code == 400
    assert check_token(token).problem == ""


def test_an_invitation_key_sent_via_the_task_runs_inline_after_commit(
    newcomer: Employee, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        do_invite(newcomer, acting_user=None)
    assert len(mail.outbox) == 1
