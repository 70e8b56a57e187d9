"""The e-mail outbox: every queued OutboundEmail goes through Django's mail backend once.

A sender first claims a row with a conditional update (`sent_at IS NULL` and no live claim), so
two workers never hand the same row to the backend; after sending it sets `sent_at`. A failure
releases the claim and records the error; a row is tried at most OUTBOX_MAX_ATTEMPTS times. The one
window for a duplicate is a worker dying between the SMTP hand-over and marking the row sent: its
claim expires after OUTBOX_CLAIM_SECONDS and the row is sent again. We prefer a rare duplicate
invitation to a lost one.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db.models import F, Q
from django.utils import timezone

from benefitsync.invitations.models import LINK_PLACEHOLDER, OutboundEmail
from benefitsync.lib import crypto

log = logging.getLogger(__name__)


def max_attempts() -> int:
    return int(settings.OUTBOX_MAX_ATTEMPTS)


def claim_timeout() -> dt.timedelta:
    return dt.timedelta(seconds=int(settings.OUTBOX_CLAIM_SECONDS))


def _claimable(now: dt.datetime) -> Q:
    return Q(sent_at__isnull=True, attempts__lt=max_attempts()) & (
        Q(claimed_at__isnull=True) | Q(claimed_at__lt=now - claim_timeout())
    )


def message_body(email: OutboundEmail) -> str:
    """The body as it is sent: the stored body with the decrypted link in its place."""
    if not email.secret:
        return email.body
    return email.body.replace(LINK_PLACEHOLDER, crypto.decrypt(email.secret))


def send_pending(limit: int = 100, *, now: dt.datetime | None = None) -> int:
    """Send up to `limit` unsent e-mails, oldest first; returns how many were sent."""
    now = now or timezone.now()
    candidates = list(
        OutboundEmail.objects.filter(_claimable(now))
        .order_by("pk")
        .values_list("pk", flat=True)[:limit]
    )
    if not candidates:
        return 0
    sent = 0
    connection = get_connection()
    for pk in candidates:
        claimed = (
            OutboundEmail.objects.filter(_claimable(now), pk=pk).update(
                claimed_at=timezone.now(), attempts=F("attempts") + 1
            )
            == 1
        )
        if not claimed:
            continue  # another worker has it, or sent it meanwhile
        email = OutboundEmail.objects.get(pk=pk)
        message = EmailMessage(
            subject=email.subject,
            body=message_body(email),
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=[email.to],
            connection=connection,
        )
        try:
            message.send()
        except Exception as exc:  # any backend error: keep the row for the next attempt
            log.warning("outbox: sending #%s failed: %s", pk, type(exc).__name__)
            OutboundEmail.objects.filter(pk=pk).update(
                claimed_at=None, last_error=f"{type(exc).__name__}: {exc}"[:2000]
            )
            continue
        # The link is spent from the database's point of view: only the recipient has it now.
        OutboundEmail.objects.filter(pk=pk).update(sent_at=timezone.now(), last_error="", secret="")
        sent += 1
    return sent
