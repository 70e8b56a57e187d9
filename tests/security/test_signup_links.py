"""A live sign-up link is not readable from the database or the back office: the outbox keeps
it only encrypted, and only until the e-mail went out."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.urls import reverse

from benefitsync.accounts.models import User
from benefitsync.invitations.models import OutboundEmail
from benefitsync.invitations.outbox import message_body, send_pending
from benefitsync.invitations.services import do_invite
from tests.conftest import ClientFor
from tests.factories import make_company, make_employee


def _whole_row(email: OutboundEmail) -> str:
    return repr(list(OutboundEmail.objects.filter(pk=email.pk).values()))


@pytest.mark.django_db
def test_a_sign_up_link_is_not_readable_from_the_database_or_the_admin_after_sending(
    client_for: ClientFor, support: User
) -> None:
    company = make_company("Gamma GmbH", slug="gamma")
    newcomer = make_employee(company, first_name="Jana", email="jana@gamma.example")
    do_invite(newcomer, acting_user=None)
    email = OutboundEmail.objects.get()
    found = re.search(r"/me/signup/([^/\s]+)/", message_body(email))
    assert found is not None
    token = found.group(1)
    assert token not in _whole_row(email), "before sending: only encrypted"
    assert send_pending() == 1
    assert token in mail.outbox[-1].body, "the employee gets the link"
    email.refresh_from_db()
    assert token not in _whole_row(email)
    assert email.secret == ""
    page = client_for(support).get(
        reverse("admin:invitations_outboundemail_change", args=[email.pk])
    )
    assert page.status_code == 200
    assert token not in page.content.decode()
