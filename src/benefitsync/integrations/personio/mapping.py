"""Personio's employee (as the client parsed it) → the portal's fields (SPEC §3).

Pure: no ORM, no HTTP. A record the portal cannot store (an invalid e-mail, a 10 kB name, a hire
date after the leaving date, an unknown status) becomes a `Skip` with the reason, so one bad
record never fails a run.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from benefitsync.integrations.personio.errors import BadRecord
from benefitsync.integrations.personio.reconcile import RemoteEmployee, Skip
from benefitsync.integrations.personio.schemas import PersonioEmployee

KNOWN_STATUSES = frozenset({"onboarding", "active", "leave", "inactive"})
# Personio keys → portal fields, for the standard attributes.
STANDARD_MAP: tuple[tuple[str, str], ...] = (
    ("first_name", "first_name"),
    ("last_name", "last_name"),
    ("email", "email"),
    ("status", "personio_status"),
    ("employment_type", "employment_type"),
    ("hire_date", "hire_date"),
    ("termination_date", "leaving_date"),
    ("gender", "gender"),
    ("subcompany", "personio_company_name"),
)
MAX_LENGTHS = {
    "first_name": 200,
    "last_name": 200,
    "email": 254,
    "personnel_number": 100,
    "employment_type": 40,
    "gender": 40,
    "personio_company_name": 200,
    "marital_status": 100,
    "personio_status": 40,
}
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_EARLIEST = dt.date(1900, 1, 1)


def _labels(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(",") if part.strip())


@dataclass(frozen=True, slots=True)
class Labels:
    """Which custom attribute labels hold the personnel number, marital status and opt-in flag.

    Several alternatives each (German and English Personio accounts name them differently); the
    first one present wins. Labels compare case-insensitively.
    """

    personnel_number: tuple[str, ...]
    marital_status: tuple[str, ...]
    opt_in: tuple[str, ...]

    @classmethod
    def parse(cls, personnel_number: str, marital_status: str, opt_in: str) -> Labels:
        return cls(_labels(personnel_number), _labels(marital_status), _labels(opt_in))


def _custom(
    record: PersonioEmployee, lowered: Mapping[str, str], labels: Sequence[str]
) -> tuple[bool, str | None]:
    """The value of the first of `labels` the record has; `lowered` maps casefolded labels to
    the record's own spelling."""
    for label in labels:
        key = lowered.get(label.casefold())
        if key is not None:
            return True, record.custom[key]
    return False, None


def _clean_text(field: str, value: str | None) -> str:
    if not value:
        return ""
    if value.isprintable():  # the common case: no control characters to look for
        text = value.strip()
    else:
        if field == "email" and _CONTROL.search(value):
            # Stripping would turn garbage into a different (or empty) address: refuse instead.
            raise ValueError("invalid e-mail address")
        text = _CONTROL.sub("", value).strip()
    limit = MAX_LENGTHS.get(field)
    if limit is not None and len(text) > limit:
        raise ValueError(f"{field} is longer than {limit} characters")
    return text


def to_remote(record: PersonioEmployee, labels: Labels) -> RemoteEmployee | Skip:
    """Map one parsed Personio employee; a Skip (with the reason) when the portal cannot take it."""
    fields: dict[str, Any] = {}
    try:
        for key, name in STANDARD_MAP:
            if key not in record.present:
                continue
            value = getattr(record, key)
            if isinstance(value, dt.date) or (value is None and key.endswith("date")):
                fields[name] = value
            else:
                fields[name] = _clean_text(name, value)
        lowered = {key.casefold(): key for key in record.custom}
        for name, wanted in (
            ("personnel_number", labels.personnel_number),
            ("marital_status", labels.marital_status),
        ):
            present, value = _custom(record, lowered, wanted)
            if present:
                fields[name] = _clean_text(name, value)
        _, opt_in = _custom(record, lowered, labels.opt_in)
    except ValueError as exc:
        return Skip(record.id, str(exc))

    email = fields.get("email")
    if email:
        try:
            validate_email(email)
        except ValidationError:
            return Skip(record.id, "invalid e-mail address")
    if (
        "first_name" in fields
        and "last_name" in fields
        and not (fields["first_name"] or fields["last_name"])
    ):
        return Skip(record.id, "no first or last name")
    status = fields.get("personio_status")
    if status and status not in KNOWN_STATUSES:
        return Skip(record.id, f"unknown Personio status {status[:40]!r}")
    hire, leaving = fields.get("hire_date"), fields.get("leaving_date")
    for name, day in (("hire date", hire), ("leaving date", leaving)):
        if day is not None and day < _EARLIEST:
            return Skip(record.id, f"{name} {day.isoformat()} is not plausible")
    if hire is not None and leaving is not None and hire > leaving:
        return Skip(record.id, "hire date is after the leaving date")
    return RemoteEmployee(record.id, fields, opt_in)


def bad_record_skip(record: BadRecord) -> Skip:
    return Skip(record.personio_id, record.reason)


def map_all(
    records: Iterable[PersonioEmployee | BadRecord], labels: Labels
) -> tuple[list[RemoteEmployee], list[Skip], frozenset[str]]:
    """Map a listing: the employees, the skipped records and the attribute keys delivered."""
    remote: list[RemoteEmployee] = []
    skipped: list[Skip] = []
    delivered: set[str] = set()
    for record in records:
        if isinstance(record, BadRecord):
            skipped.append(bad_record_skip(record))
            continue
        delivered |= record.present
        mapped = to_remote(record, labels)
        if isinstance(mapped, Skip):
            skipped.append(mapped)
        else:
            remote.append(mapped)
    return remote, skipped, frozenset(delivered)
