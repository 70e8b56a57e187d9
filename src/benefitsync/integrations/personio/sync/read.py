"""Step 1 of a run: read Personio — every employee it delivers, mapped to portal terms.

`client.py` speaks HTTP; this module builds the client from the stored credentials, maps each
record (`mapping.to_remote`) and notes what the read delivered besides records (the attribute
keys, the client's request counters).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Generator
from typing import Any

from django.conf import settings

from benefitsync.integrations.personio import reconcile as rc
from benefitsync.integrations.personio.client import Credentials, PersonioClient
from benefitsync.integrations.personio.errors import BadRecord
from benefitsync.integrations.personio.mapping import Labels, bad_record_skip, to_remote
from benefitsync.integrations.personio.models import APPLIED, PersonioIntegration, SyncRun
from benefitsync.lib import crypto


class NotConnected(Exception):
    """The company has no usable Personio credentials."""


def make_client(integration: PersonioIntegration) -> PersonioClient:
    """The one place a Personio client is built from stored credentials."""
    if not integration.client_id or not integration.client_secret_encrypted:
        raise NotConnected("Personio is not connected for this company.")
    secret = crypto.decrypt(integration.client_secret_encrypted)
    return client_for(
        Credentials(integration.client_id, secret),
        integration.base_url or settings.PERSONIO_BASE_URL,
    )


def client_for(credentials: Credentials, base_url: str) -> PersonioClient:
    return PersonioClient(
        credentials,
        base_url=base_url,
        partner_id=settings.PERSONIO_PARTNER_ID or None,
        app_id=settings.PERSONIO_APP_ID or None,
        **settings.PERSONIO_CLIENT_OPTIONS,
    )


def labels_of(integration: PersonioIntegration) -> Labels:
    return Labels.parse(
        integration.personnel_number_labels,
        integration.marital_status_labels,
        integration.opt_in_label,
    )


Item = rc.RemoteEmployee | rc.Skip


@dataclasses.dataclass
class Reading:
    """What one read of Personio's listing delivered besides the records (filled while read)."""

    delivered: set[str] = dataclasses.field(default_factory=set)  # attribute keys delivered
    readable: int = 0  # records that mapped to an employee
    stats: dict[str, Any] = dataclasses.field(default_factory=dict)  # the client's counters


def read(
    integration: PersonioIntegration,
    reading: Reading,
    on_progress: Callable[[int], None] | None = None,
) -> Generator[Item, None, None]:
    """Every employee Personio delivers, mapped, in Personio's order (raises the client's typed
    errors). The last sync's count lets the client ask for the first pages at once."""
    last = (
        SyncRun.objects.filter(company_id=integration.company_id, status__in=APPLIED)
        .values_list("counts", flat=True)
        .first()
    )
    expected = (last or {}).get("remote_total")
    labels = labels_of(integration)
    delivered = reading.delivered
    with make_client(integration) as client:
        listing = client.iter_employees(expected_total=expected)
        for n, record in enumerate(listing, start=1):
            if on_progress is not None and n % 100 == 0:
                on_progress(n)
            if isinstance(record, BadRecord):
                yield bad_record_skip(record)
                continue
            if not record.present <= delivered:
                delivered |= record.present
            item = to_remote(record, labels)
            reading.readable += isinstance(item, rc.RemoteEmployee)
            yield item
        reading.stats = client.stats.as_dict()
