"""Step 1, the other side: read the portal — the company's employees as plain values.

A sync compares Personio's records with the portal's employees without model instances: the
rows are read from the cursor (`_local_employees`), in the slim form a whole-company pass needs
(`local_keys`), or for one chunk's Personio IDs (`local_rows`). `Local` picks per run: one read
of the whole company when the listing fits in one chunk, else per-chunk reads.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any, NamedTuple

from django.db import connections
from django.db.models import Q, QuerySet

from benefitsync.employees.models import Employee
from benefitsync.integrations.personio import reconcile as rc
from benefitsync.lib.db import among
from benefitsync.lib.months import Month
from benefitsync.lib.spill import CHUNK_SIZE

if TYPE_CHECKING:
    from benefitsync.companies.models import Company

_SNAPSHOT_FIELDS = ("id", "personio_id", "status", "last_working_month", "missing_from_personio")
_KEY_FIELDS = ("id", "personio_id", "email", "status", "missing_from_personio")


class _Key(NamedTuple):
    """The slim form of a portal employee a sync keeps for the whole company (`rc.LocalKey`)."""

    id: int
    personio_id: int | None
    email: str
    status: str
    missing: bool


def _as_date(value: dt.date | str | None) -> dt.date | None:
    # SQLite hands dates back as ISO strings (Django's converters would parse them per field).
    return dt.date.fromisoformat(value) if isinstance(value, str) else value


_DATE_AT = tuple(5 + rc.SYNCED_FIELDS.index(name) for name in ("hire_date", "leaving_date"))


def _local_employees(
    rows: QuerySet[Employee, Any], limit: int | None = None
) -> Iterator[rc.LocalEmployee]:
    """The rows (at most `limit`) as plain values. The SQL is the ORM's; the rows are read from
    the cursor, not through the ORM's per-row machinery, which cost as much as the rest of an
    unchanged sync's own work (measured with py-spy at 30k employees). No ORDER BY: the model's
    default (by name) would make the database prefer the name index to the Personio ID index
    and read the whole company for every chunk."""
    names = (*_SNAPSHOT_FIELDS, *rc.SYNCED_FIELDS)
    query = rows.order_by().values_list(*names)[:limit]
    sql, params = query.query.sql_with_params()
    fields = rc.SYNCED_FIELDS
    hire_at, leaving_at = _DATE_AT
    with connections[query.db].cursor() as cursor:
        cursor.execute(sql, params)
        while batch := cursor.fetchmany(2000):
            for row in batch:
                values = list(row[5:])
                values[hire_at - 5] = _as_date(row[hire_at])
                values[leaving_at - 5] = _as_date(row[leaving_at])
                lwm = _as_date(row[3])
                yield rc.LocalEmployee(
                    id=row[0],
                    personio_id=row[1],
                    status=row[2],
                    last_working_month=None if lwm is None else Month.of(lwm),
                    missing=bool(row[4]),
                    fields=dict(zip(fields, values, strict=True)),
                )


def snapshot(company: Company) -> list[rc.LocalEmployee]:
    """Every employee of the company, as plain values (one query, no model instances)."""
    return list(_local_employees(Employee.objects.filter(company=company)))


def local_keys(company: Company) -> Iterator[_Key]:
    """Every employee of the company in its slim form, streamed in id order."""
    rows = Employee.objects.filter(company=company).order_by("pk").values_list(*_KEY_FIELDS)
    for pk, pid, email, status, missing in rows.iterator(chunk_size=5000):
        yield _Key(pk, pid, rc.email_key(email), status, missing)


def local_rows(company: Company, pids: list[int], ids: list[int]) -> list[rc.LocalEmployee]:
    """The employees of `company` with one of the Personio IDs `pids` or one of the ids `ids`."""
    wanted = Q()
    if pids:
        wanted |= Q(personio_id__in=among(pids))
    if ids:
        wanted |= Q(pk__in=among(ids))
    if not wanted:
        return []
    return list(_local_employees(Employee.objects.filter(wanted, company=company)))


class Local:
    """The portal rows a plan reads (no sync writes while it plans, so they hold still).

    A listing that fits in one chunk (most companies) is reconciled against one read of the
    whole company, which serves every step: a daily cycle of small companies makes one query
    per company, not three. Otherwise each chunk reads its own rows, and the steps that need
    the whole company read its slim keys once.
    """

    def __init__(self, company: Company, *, whole_listing: bool) -> None:
        self.company = company
        self.whole: list[rc.LocalEmployee] | None = None
        if whole_listing:
            # Bounded: a company with far more portal employees than Personio delivers (a
            # filter, hand-made employees) goes the chunked way instead.
            rows = Employee.objects.filter(company=company)
            whole = list(_local_employees(rows, limit=CHUNK_SIZE + 1))
            if len(whole) <= CHUNK_SIZE:
                # In id order, as `local_keys` reads them: missing flags come out in that order.
                self.whole = sorted(whole, key=lambda e: e.id)
        # Nobody linked yet (a first sync): no record can match by Personio ID, so don't ask.
        # Only a sync links employees, and one sync per company runs at a time.
        self.linked = self.whole is None and (
            Employee.objects.filter(company=company, personio_id__isnull=False).exists()
        )

    def rows(self, pids: list[int], ids: list[int]) -> list[rc.LocalEmployee]:
        """(At least) the employees with one of the Personio IDs `pids` or the ids `ids`."""
        if self.whole is not None:
            return self.whole
        return local_rows(self.company, pids if self.linked else [], ids)

    def keys(self) -> Iterable[rc.LocalKey]:
        """Every employee of the company, in its slim form."""
        return self.whole if self.whole is not None else local_keys(self.company)
