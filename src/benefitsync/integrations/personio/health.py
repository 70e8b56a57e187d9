"""A company's sync health: the failure streak, the back-off, and the notice to HR admins.

A failed run counts toward the streak (whatever failed: Personio or the portal itself); the
daily slot backs off (1 h, 2 h, 4 h, … up to the daily slot); after `NOTIFY_AFTER_FAILURES` in a
row — or at once when Personio refused the credentials — the HR admins get one e-mail per
streak. A succeeded run ends the streak.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.conf import settings
from django.core.mail import send_mail
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from benefitsync.integrations.personio.models import IntegrationStatus, PersonioIntegration
from benefitsync.integrations.personio.texts import Note, render

log = logging.getLogger(__name__)

# After this many failed runs in a row the HR admins get an e-mail (once per streak).
NOTIFY_AFTER_FAILURES = 3
# The notice goes out in both languages of the portal: an HR admin's language is not stored.
NOTICE_LANGUAGES = ("de", "en")


def record_success(integration: PersonioIntegration) -> None:
    if integration.consecutive_failures:
        PersonioIntegration.objects.filter(pk=integration.pk).update(
            consecutive_failures=0, failure_notified_at=None
        )


def record_failure(integration: PersonioIntegration, note: Note, *, needs_reconnect: bool) -> None:
    """Back off after a failed run and tell the HR admins once per failure streak. Call it
    outside any transaction: it may send an e-mail."""
    integration.refresh_from_db()
    integration.consecutive_failures += 1
    if needs_reconnect and integration.status == IntegrationStatus.ACTIVE:
        integration.status = IntegrationStatus.NEEDS_RECONNECT
    delay = dt.timedelta(hours=min(2 ** (integration.consecutive_failures - 1), 24))
    if integration.status == IntegrationStatus.ACTIVE:
        integration.next_sync_at = min(
            timezone.now() + delay, integration.next_daily_sync(timezone.now() + delay)
        )
    else:
        integration.next_sync_at = None
    notify = (
        integration.consecutive_failures >= NOTIFY_AFTER_FAILURES or needs_reconnect
    ) and integration.failure_notified_at is None
    if notify:
        integration.failure_notified_at = timezone.now()
    integration.save()
    if notify:
        _notify_failure(integration, note, needs_reconnect)


def _notify_failure(integration: PersonioIntegration, note: Note, needs_reconnect: bool) -> None:
    company = integration.company
    recipients = list(company.memberships.values_list("user__email", flat=True))
    if not recipients:
        return
    subjects: list[str] = []
    bodies: list[str] = []
    for language in NOTICE_LANGUAGES:
        with translation.override(language):
            subjects.append(
                (
                    _("Personio: please reconnect %(company)s")
                    if needs_reconnect
                    else _("Personio synchronization of %(company)s keeps failing")
                )
                % {"company": company.name}
            )
            bodies.append(
                _(
                    "The synchronization with Personio failed %(count)s time(s) in a row.\n"
                    "Last error: %(error)s\n\n"
                    "Open the portal (Company settings → Personio integration): %(url)s\n"
                )
                % {
                    "count": integration.consecutive_failures,
                    "error": render(note),
                    "url": f"{settings.BASE_URL}/c/{company.slug}/personio/",
                }
            )
    try:
        send_mail(" / ".join(subjects), "\n-- \n\n".join(bodies), None, recipients)
    except OSError:
        log.exception("could not send the failure notice for company %s", company.pk)
