"""Every change of a company's Personio integration goes through a `do_*` function here.

Each is atomic, takes `acting_user` (None = the system) and writes the audit log. The client
secret is encrypted before it is stored and appears in no log, message or audit entry.
"""

from __future__ import annotations

import contextlib
import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_variables

from benefitsync.audit import services as audit
from benefitsync.employees.models import Employee
from benefitsync.integrations.personio import reconcile as rc
from benefitsync.integrations.personio import webhooks
from benefitsync.integrations.personio.client import Credentials
from benefitsync.integrations.personio.errors import (
    AuthenticationError,
    FatalError,
    PersonioError,
)
from benefitsync.integrations.personio.models import (
    DELTA_INTERVALS,
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
    auto_invite: bool | None = None,
    first_sync: bool = True,
    enqueue: bool = True,
) -> PersonioIntegration:
    """Validate the credentials against Personio, then store them (secret encrypted), set the
    auto-invite choice (None: keep it), mark the integration active and queue a first sync,
    which uses that choice. Nothing is stored when validation fails.

    Validation talks to Personio *before* the transaction opens: on SQLite an open write
    transaction locks every tenant's writes for as long as Personio takes to answer. With
    `enqueue=False` the first run is only queued: the caller executes it (the command line).
    After commit the webhook is registered (or the delta sync scheduled: `webhooks.register`).
    """
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
        if auto_invite is not None:
            integration.auto_invite = auto_invite
        integration.next_sync_at = integration.next_daily_sync(timezone.now())
        integration.save()
        audit.record(
            "personio.connect",
            company=company,
            actor=acting_user,
            target=f"company:{company.pk}",
            auto_invite=integration.auto_invite,
        )
        if first_sync:
            with contextlib.suppress(AlreadyRunning):
                request_sync(company, Trigger.CONNECT, acting_user=acting_user, enqueue=enqueue)
    return webhooks.register(integration, acting_user=acting_user)


def do_repair_webhooks(company: Company, *, acting_user: User | None) -> PersonioIntegration:
    """Register the webhook again (a new token; the old registration is deleted). Talks to
    Personio, so no transaction is open around it."""
    integration = integration_for(company)
    if not integration.is_connected:
        raise ConnectError("not_connected", _("Personio is not connected."))
    return webhooks.register(integration, acting_user=acting_user)


def do_disconnect_personio(company: Company, *, acting_user: User | None) -> None:
    """Delete the webhook at Personio, then erase the credentials; employees, benefits,
    vouchers, filters and history stay."""
    webhooks.unregister(integration_for(company))  # a call to Personio: before the transaction
    with transaction.atomic():
        integration = PersonioIntegration.objects.select_for_update().get(company=company)
        integration.client_id = ""
        integration.client_secret_encrypted = ""
        integration.status = IntegrationStatus.DISCONNECTED
        integration.next_sync_at = None
        for name, value in webhooks.forget().items():
            setattr(integration, name, value)
        integration.save()
        audit.record(
            "personio.disconnect",
            company=company,
            actor=acting_user,
            target=f"company:{company.pk}",
        )


def _set_status(
    company: Company, status: str, action: str, acting_user: User | None
) -> PersonioIntegration:
    integration = integration_for(company)
    if not integration.is_connected:
        raise ConnectError("not_connected", _("Personio is not connected."))
    integration.status = status
    active = status == IntegrationStatus.ACTIVE
    integration.next_sync_at = integration.next_daily_sync(timezone.now()) if active else None
    integration.next_delta_at = (
        webhooks.next_delta(integration) if active and not integration.webhooks_active else None
    )
    integration.save(update_fields=["status", "next_sync_at", "next_delta_at", "updated_at"])
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
def do_set_delta_interval(
    company: Company, minutes: int, *, acting_user: User | None
) -> PersonioIntegration:
    """How often a company without webhooks asks Personio for changes (`DELTA_INTERVALS`)."""
    if minutes not in DELTA_INTERVALS:
        raise ValueError(f"interval must be one of {DELTA_INTERVALS}")
    integration = integration_for(company)
    integration.delta_interval = minutes
    fields = ["delta_interval", "updated_at"]
    if integration.next_delta_at is not None:
        integration.next_delta_at = webhooks.next_delta(integration)
        fields.append("next_delta_at")
    integration.save(update_fields=fields)
    audit.record(
        "personio.delta_interval",
        company=company,
        actor=acting_user,
        target=f"company:{company.pk}",
        minutes=minutes,
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
