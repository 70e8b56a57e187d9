"""Step 1 of a run: read Personio — the employees it delivers, mapped to portal terms.

`client.py` speaks HTTP; this module builds the client from the stored credentials, maps each
record (`mapping.to_remote`) and notes what the read delivered besides records (the attribute
keys, the client's request counters). A full or delta run reads the listing (`read`); a
webhook run reads the people its events named, one by one (`read_people`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Collection, Generator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from django.conf import settings

from benefitsync.integrations.personio import reconcile as rc
from benefitsync.integrations.personio.client import Credentials, PersonioClient
from benefitsync.integrations.personio.errors import BadRecord, NotFoundError
from benefitsync.integrations.personio.mapping import Labels, bad_record_skip, to_remote
from benefitsync.integrations.personio.models import PersonioIntegration, SyncRun
from benefitsync.integrations.personio.schemas import EmployeeRecord
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
    gone: set[int] = dataclasses.field(default_factory=set)  # asked for, and Personio has none


def read(
    integration: PersonioIntegration,
    reading: Reading,
    on_progress: Callable[[int], None] | None = None,
    *,
    updated_since: dt.datetime | None = None,
) -> Generator[Item, None, None]:
    """Every employee Personio delivers (with `updated_since`: changed after that moment),
    mapped, in Personio's order (raises the client's typed errors). The last full sync's count
    lets the client ask for the first pages of a full listing at once."""
    expected = (
        SyncRun.objects.last_remote_total(integration.company_id) if updated_since is None else None
    )
    labels = labels_of(integration)
    with make_client(integration) as client:
        listing = client.iter_employees(expected_total=expected, updated_since=updated_since)
        for n, record in enumerate(listing, start=1):
            if on_progress is not None and n % 100 == 0:
                on_progress(n)
            yield _mapped(record, labels, reading)
        reading.stats = client.stats.as_dict()


def _mapped(record: EmployeeRecord, labels: Labels, reading: Reading) -> Item:
    """One record in portal terms (a skip when it cannot be read), noted on `reading`."""
    if isinstance(record, BadRecord):
        return bad_record_skip(record)
    if not record.present <= reading.delivered:
        reading.delivered |= record.present
    item = to_remote(record, labels)
    reading.readable += isinstance(item, rc.RemoteEmployee)
    return item


# Employees a webhook run fetches at once: Personio's burst allowance is 15 requests a second.
PEOPLE_THREADS = 8


def read_people(
    integration: PersonioIntegration, personio_ids: Collection[int], reading: Reading
) -> Generator[Item, None, None]:
    """The employees with these Personio IDs, one `GET /v1/company/employees/{id}` each (it
    keeps the credential's attribute whitelist and custom attributes), mapped, in the order
    given. An ID Personio does not know goes to `reading.gone`; other errors are raised."""
    labels = labels_of(integration)
    ids = sorted(set(personio_ids))

    def fetch(client: PersonioClient, pid: int) -> EmployeeRecord | None:
        try:
            return client.get_employee(pid)
        except NotFoundError:
            return None

    with (
        make_client(integration) as client,
        ThreadPoolExecutor(max(1, min(PEOPLE_THREADS, len(ids)))) as pool,
    ):
        for pid, record in zip(ids, pool.map(lambda p: fetch(client, p), ids), strict=True):
            if record is None:
                reading.gone.add(pid)
            else:
                yield _mapped(record, labels, reading)
        reading.stats = client.stats.as_dict()
