"""Every change of a company's Personio integration goes through a `do_*` function here.

Each is atomic, takes `acting_user` (None = the system) and writes the audit log. The client
secret is encrypted before it is stored and appears in no log, message or audit entry.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_variables

from benefitsync.audit import services as audit
from benefitsync.employees.models import Employee
from benefitsync.integrations.personio import reconcile as rc
from benefitsync.integrations.personio.client import Credentials
from benefitsync.integrations.personio.errors import (
    AuthenticationError,
    FatalError,
    PersonioError,
)
from benefitsync.integrations.personio.models import (
    IntegrationStatus,
    PersonioIntegration,
    SyncRun,
    Trigger,
)
from benefitsync.integrations.personio.sync import (
    AlreadyRunning,
    client_for,
    request_sync,
)
from benefitsync.lib import crypto

if TYPE_CHECKING:
    from benefitsync.accounts.models import User
    from benefitsync.companies.models import Company

log = logging.getLogger(__name__)

# Personio attribute keys the rules cannot work without (SPEC §2.4).
REQUIRED_ATTRIBUTES = {
    "email": "E-mail",
    "first_name": "First name",
    "last_name": "Last name",
    "termination_date": "Leaving date",
}
# After this many failed runs in a row the HR admins get an e-mail (once per streak).
NOTIFY_AFTER_FAILURES = 3
DAILY_SPREAD_MINUTES = 60


class ConnectError(Exception):
    """Connecting failed; `kind` is wrong_credentials / unreachable / missing_attributes."""

    def __init__(self, kind: str, message: str, missing: Iterable[str] = ()) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.missing = list(missing)


def integration_for(company: Company) -> PersonioIntegration:
    integration, _created = PersonioIntegration.objects.get_or_create(company=company)
    return integration


def is_connected(company: Company) -> bool:
    """True while Personio manages this company's employees (their Personio fields read-only)."""
    return (
        PersonioIntegration.objects.filter(company=company)
        .exclude(status=IntegrationStatus.DISCONNECTED)
        .exists()
    )


@sensitive_variables("client_secret")
def validate_credentials(client_id: str, client_secret: str, base_url: str) -> list[str]:
    """Authenticate and read the credential's attribute whitelist before anything is stored.

    Returns the attribute keys and custom labels the credential may read; raises ConnectError
    with a message that says what to do.
    """
    if not client_id.strip() or not client_secret.strip():
        raise ConnectError(
            "wrong_credentials", _("Enter both the Client ID and the Client Secret.")
        )
    with client_for(Credentials(client_id.strip(), client_secret.strip()), base_url) as client:
        try:
            client.authenticate()
            attributes = client.list_attributes()
        except AuthenticationError:
            raise ConnectError(
                "wrong_credentials",
                _(
                    "Personio did not accept this Client ID and Client Secret. Copy both again "
                    "from Personio (Marketplace → benefitsync → Connect), or generate new access "
                    "data there."
                ),
            ) from None
        except FatalError as exc:
            raise ConnectError(
                "unreachable",
                _("Personio answered with an error (%(error)s). Try again later.")
                % {"error": exc.message},
            ) from None
        except PersonioError:
            raise ConnectError(
                "unreachable",
                _("Personio could not be reached. Nothing was saved; try again in a few minutes."),
            ) from None
    keys = {a.key for a in attributes} | {a.label for a in attributes}
    missing = [label for key, label in REQUIRED_ATTRIBUTES.items() if key not in keys]
    if missing:
        raise ConnectError(
            "missing_attributes",
            _(
                "This access data may not read these attributes: %(missing)s. In Personio, open "
                "the integration's “Select attributes” and tick them, then connect again."
            )
            % {"missing": ", ".join(missing)},
            missing,
        )
    return sorted(keys)


# No @transaction.atomic here: its wrapper's frame would show the secret among its arguments
# in an error report, and the validation talks to Personio, which must not hold a transaction.
@sensitive_variables("client_secret")
def do_connect_personio(
    company: Company,
    *,
    client_id: str,
    client_secret: str,
    acting_user: User | None,
    base_url: str | None = None,
    first_sync: bool = True,
) -> PersonioIntegration:
    """Validate the credentials against Personio, then store them (secret encrypted), mark the
    integration active and queue a first sync. Nothing is stored when validation fails."""
    url = (base_url or settings.PERSONIO_BASE_URL).rstrip("/")
    validate_credentials(client_id, client_secret, url)
    encrypted = crypto.encrypt(client_secret.strip())
    with transaction.atomic():
        integration = PersonioIntegration.objects.select_for_update().get_or_create(
            company=company
        )[0]
        integration.client_id = client_id.strip()
        integration.client_secret_encrypted = encrypted
        integration.base_url = url
        integration.status = IntegrationStatus.ACTIVE
        integration.connected_at = timezone.now()
        integration.consecutive_failures = 0
        integration.failure_notified_at = None
        integration.next_sync_at = next_daily_sync(integration, timezone.now())
        integration.save()
        audit.record(
            "personio.connect", company=company, actor=acting_user, target=f"company:{company.pk}"
        )
        if first_sync:
            with contextlib.suppress(AlreadyRunning):
                request_sync(company, Trigger.CONNECT, acting_user=acting_user)
    return integration


@transaction.atomic
def do_disconnect_personio(company: Company, *, acting_user: User | None) -> None:
    """Erase the credentials; employees, benefits, vouchers, filters and history stay."""
    integration = integration_for(company)
    integration.client_id = ""
    integration.client_secret_encrypted = ""
    integration.status = IntegrationStatus.DISCONNECTED
    integration.next_sync_at = None
    integration.save()
    audit.record(
        "personio.disconnect", company=company, actor=acting_user, target=f"company:{company.pk}"
    )


def _set_status(
    company: Company, status: str, action: str, acting_user: User | None
) -> PersonioIntegration:
    integration = integration_for(company)
    if not integration.is_connected:
        raise ConnectError("not_connected", _("Personio is not connected."))
    integration.status = status
    integration.next_sync_at = (
        next_daily_sync(integration, timezone.now()) if status == IntegrationStatus.ACTIVE else None
    )
    integration.save(update_fields=["status", "next_sync_at", "updated_at"])
    audit.record(action, company=company, actor=acting_user, target=f"company:{company.pk}")
    return integration


@transaction.atomic
def do_pause_personio(company: Company, *, acting_user: User | None) -> PersonioIntegration:
    """Stop the daily schedule without disconnecting."""
    return _set_status(company, IntegrationStatus.PAUSED, "personio.pause", acting_user)


@transaction.atomic
def do_resume_personio(company: Company, *, acting_user: User | None) -> PersonioIntegration:
    return _set_status(company, IntegrationStatus.ACTIVE, "personio.resume", acting_user)


@transaction.atomic
def do_set_auto_invite(
    company: Company, enabled: bool, *, acting_user: User | None
) -> PersonioIntegration:
    integration = integration_for(company)
    integration.auto_invite = enabled
    integration.save(update_fields=["auto_invite", "updated_at"])
    audit.record(
        "personio.auto_invite",
        company=company,
        actor=acting_user,
        target=f"company:{company.pk}",
        enabled=enabled,
    )
    return integration


@transaction.atomic
def do_set_company_filter(
    company: Company,
    *,
    email_domains: Iterable[str] = (),
    company_names: Iterable[str] = (),
    opt_in: bool = False,
    acting_user: User | None,
) -> PersonioIntegration:
    """Set (or, with nothing given, clear) the company filter. Support staff only: the caller
    checks the role; this refuses anyone who is not support staff."""
    if acting_user is not None and not acting_user.is_support:
        raise PermissionError("Only support staff can change the company filter.")
    domains = sorted({d.strip().lower().lstrip("@") for d in email_domains if d.strip()})
    for domain in domains:
        if "." not in domain or " " in domain or "@" in domain:
            raise ValueError(_("%(domain)s is not an e-mail domain.") % {"domain": domain})
    names = sorted({n.strip() for n in company_names if n.strip()})
    integration = integration_for(company)
    integration.filter_email_domains = domains
    integration.filter_company_names = names
    integration.filter_opt_in = opt_in
    integration.save()
    audit.record(
        "personio.filter",
        company=company,
        actor=acting_user,
        target=f"company:{company.pk}",
        email_domains=domains,
        company_names=names,
        opt_in=opt_in,
    )
    return integration


# --- schedule and failures ------------------------------------------------------------------------


def _jitter_minutes(company_id: int) -> int:
    # Deterministic per company, so hundreds of companies with the same schedule time spread
    # over an hour instead of starting in the same second, and a restart does not reshuffle.
    digest = hashlib.sha256(f"personio-daily-{company_id}".encode()).digest()
    return int.from_bytes(digest[:2], "big") % DAILY_SPREAD_MINUTES


def next_daily_sync(integration: PersonioIntegration, after: dt.datetime) -> dt.datetime:
    """The next daily sync time after `after`: schedule time in the company's zone + jitter."""
    zone = ZoneInfo(integration.company.time_zone)
    local = after.astimezone(zone)
    candidate = dt.datetime.combine(local.date(), integration.schedule_time, zone)
    candidate += dt.timedelta(minutes=_jitter_minutes(integration.company_id))
    if candidate <= local:
        candidate = dt.datetime.combine(
            local.date() + dt.timedelta(days=1), integration.schedule_time, zone
        ) + dt.timedelta(minutes=_jitter_minutes(integration.company_id))
    return candidate.astimezone(dt.UTC)


def record_failure(
    integration: PersonioIntegration, message: str, *, needs_reconnect: bool
) -> None:
    """Back off after a failed run and tell the HR admins once per failure streak."""
    integration.refresh_from_db()
    integration.consecutive_failures += 1
    if needs_reconnect and integration.status == IntegrationStatus.ACTIVE:
        integration.status = IntegrationStatus.NEEDS_RECONNECT
    # Exponential back-off for the schedule (1 h, 2 h, 4 h, … capped at the daily slot).
    delay = dt.timedelta(hours=min(2 ** (integration.consecutive_failures - 1), 24))
    if integration.status == IntegrationStatus.ACTIVE:
        integration.next_sync_at = min(
            timezone.now() + delay, next_daily_sync(integration, timezone.now() + delay)
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
        _notify_failure(integration, message, needs_reconnect)


def _notify_failure(integration: PersonioIntegration, message: str, needs_reconnect: bool) -> None:
    company = integration.company
    recipients = list(company.memberships.values_list("user__email", flat=True))
    if not recipients:
        return
    subject = (
        _("Personio: please reconnect %(company)s")
        if needs_reconnect
        else _("Personio synchronization of %(company)s keeps failing")
    ) % {"company": company.name}
    body = _(
        "The synchronization with Personio failed %(count)s time(s) in a row.\n"
        "Last error: %(error)s\n\n"
        "Open the portal (Company settings → Personio integration): %(url)s\n"
    ) % {
        "count": integration.consecutive_failures,
        "error": message,
        "url": f"{settings.BASE_URL}/c/{company.slug}/personio/",
    }
    try:
        send_mail(subject, body, None, recipients)
    except OSError:
        log.exception("could not send the failure notice for company %s", company.pk)


def due_integrations(now: dt.datetime) -> list[PersonioIntegration]:
    return list(
        PersonioIntegration.objects.select_related("company").filter(
            status=IntegrationStatus.ACTIVE, next_sync_at__lte=now
        )
    )


def schedule_due(now: dt.datetime | None = None) -> int:
    """Queue the daily sync of every company that is due; returns how many were queued."""
    moment = now or timezone.now()
    queued = 0
    for integration in due_integrations(moment):
        # Move the slot first: a company that is already running is not retried every minute.
        updated = PersonioIntegration.objects.filter(
            pk=integration.pk, next_sync_at=integration.next_sync_at
        ).update(next_sync_at=next_daily_sync(integration, moment))
        if not updated:
            continue  # another scheduler took it
        try:
            request_sync(integration.company, Trigger.DAILY)
            queued += 1
        except AlreadyRunning:
            pass
    return queued


# --- several companies, one Personio account (SPEC §5) --------------------------------------------


@dataclass(frozen=True)
class OverlapWarning:
    companies: tuple[str, str]
    shared_employees: int
    message: str


def overlap_warnings() -> list[OverlapWarning]:
    """Pairs of connected companies that read the same Personio account (they share Personio
    IDs on the same base URL) without a filter on both sides."""
    integrations = list(
        PersonioIntegration.objects.select_related("company").exclude(
            status=IntegrationStatus.DISCONNECTED
        )
    )
    ids_by_company: dict[int, set[int]] = defaultdict(set)
    for company_id, pid in Employee.objects.filter(
        company__in=[i.company_id for i in integrations], personio_id__isnull=False
    ).values_list("company_id", "personio_id"):
        if pid is not None:
            ids_by_company[company_id].add(pid)
    warnings = []
    for index, a in enumerate(integrations):
        for b in integrations[index + 1 :]:
            same_url = a.base_url.rstrip("/") == b.base_url.rstrip("/")
            shared = len(ids_by_company[a.company_id] & ids_by_company[b.company_id])
            same_client = a.client_id and a.client_id == b.client_id
            if not same_url or not (shared or same_client):
                continue
            if a.has_filter and b.has_filter and not shared:
                continue
            warnings.append(
                OverlapWarning(
                    (a.company.name, b.company.name),
                    shared,
                    _(
                        "%(a)s and %(b)s read the same Personio account; %(n)s employee(s) are "
                        "in both. Support must set company filters that keep them apart."
                    )
                    % {"a": a.company.name, "b": b.company.name, "n": shared},
                ),
            )
    return warnings


def filter_preview(
    remote: Iterable[rc.RemoteEmployee], filters: dict[str, rc.CompanyFilter]
) -> tuple[dict[str, int], list[tuple[str, list[str]]]]:
    """How many Personio employees each company's filter takes, and which match several (by
    e-mail, or Personio ID when there is none)."""
    per_company: dict[str, int] = dict.fromkeys(filters, 0)
    several: list[tuple[str, list[str]]] = []
    for employee in remote:
        matched = [name for name, f in filters.items() if f.rejects(employee) is None]
        for name in matched:
            per_company[name] += 1
        if len(matched) > 1:
            several.append((employee.email or str(employee.personio_id), matched))
    return per_company, several


def last_runs(company: Company, limit: int = 20) -> list[SyncRun]:
    return list(SyncRun.objects.filter(company=company)[:limit])
