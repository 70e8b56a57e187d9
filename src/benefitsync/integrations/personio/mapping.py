"""Personio's employee (as the client parsed it) → the portal's fields (SPEC §3).

Pure: no ORM, no HTTP. A record the portal cannot store (an invalid e-mail, a 10 kB name, a hire
date after the leaving date, an unknown status) becomes a `Skip` with the reason, so one bad
record never fails a run.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator, validate_email

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
# STANDARD_MAP with whether the field is a date (a None date stays None, not "") and its length
# limit (None: a date).
_STANDARD = tuple(
    (key, name, key.endswith("date"), MAX_LENGTHS.get(name)) for key, name in STANDARD_MAP
)
_Standard = tuple[tuple[str, str, bool, int | None], ...]
# A record's `present` → the entries of _STANDARD it has. The parser shares one `present` among
# the records of one shape, so this is worked out once per shape, not once per record.
_STANDARD_PRESENT: dict[frozenset[str], _Standard] = {}
# Django's own e-mail patterns, compiled once: `validate_email` reaches them through lazy
# proxies that cost more than the matching itself (see `_is_valid_email`).
_EMAIL_USER = re.compile(EmailValidator.user_regex.pattern, EmailValidator.user_regex.flags)
_EMAIL_DOMAIN = re.compile(EmailValidator.domain_regex.pattern, EmailValidator.domain_regex.flags)
# Domain → whether `_EMAIL_DOMAIN` matches it: a company's addresses share a handful of domains.
_DOMAIN_MATCHES: dict[str, bool] = {}


def _labels(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(",") if part.strip())


# What `Labels` resolves a record's custom keys to: for the personnel number, marital status
# and opt-in flag, the record's key to read (None: not delivered).
_Resolved = tuple[str | None, str | None, str | None]
# Bounds of the caches above and below: records that all differ only ever cost a re-computation.
_MAX_RESOLVED = 64
_MAX_DOMAINS = 1024


@dataclass(frozen=True, slots=True)
class Labels:
    """Which custom attribute labels hold the personnel number, marital status and opt-in flag.

    Several alternatives each (German and English Personio accounts name them differently); the
    first one present wins. Labels compare case-insensitively.
    """

    personnel_number: tuple[str, ...]
    marital_status: tuple[str, ...]
    opt_in: tuple[str, ...]
    # The records of one company share their custom labels, so which of them the three fields
    # come from is worked out once per set of labels (see `resolve`), not once per record.
    _resolved: dict[tuple[str, ...], _Resolved] = dataclasses.field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    @classmethod
    def parse(cls, personnel_number: str, marital_status: str, opt_in: str) -> Labels:
        return cls(_labels(personnel_number), _labels(marital_status), _labels(opt_in))

    def resolve(self, custom: Mapping[str, object]) -> _Resolved:
        """The keys of `custom` (a record's custom values) holding the personnel number, the
        marital status and the opt-in flag; None for those the record does not have."""
        keys = tuple(custom)
        resolved = self._resolved.get(keys)
        if resolved is None:
            # Casefolded label -> the record's own spelling (the last one, if several).
            lowered = {key.casefold(): key for key in keys}
            resolved = (
                _first_present(lowered, self.personnel_number),
                _first_present(lowered, self.marital_status),
                _first_present(lowered, self.opt_in),
            )
            if len(self._resolved) >= _MAX_RESOLVED:
                self._resolved.clear()
            self._resolved[keys] = resolved
        return resolved


def _first_present(lowered: Mapping[str, str], labels: Sequence[str]) -> str | None:
    """The record's key for the first of `labels` it has (compared casefolded), or None."""
    for label in labels:
        key = lowered.get(label.casefold())
        if key is not None:
            return key
    return None


def _clean_text(field: str, value: str | None) -> str:
    if not value:
        return ""
    if value.isprintable():  # the common case: no control characters to look for
        text = value.strip()
    else:
        if field == "email" and _CONTROL.search(value):
            # Stripping would turn garbage into a different (or empty) address: refuse instead.
            raise Unfit("invalid_email")
        text = _CONTROL.sub("", value).strip()
    limit = MAX_LENGTHS.get(field)
    if limit is not None and len(text) > limit:
        raise Unfit("text_too_long", field=field, limit=limit)
    return text


def _is_valid_email(value: str) -> bool:
    """Whether Django's `validate_email` accepts `value`, its common case answered first.

    `validate_email` accepts an address of at most 320 characters with an `@` whose local part
    matches its `user_regex` and whose domain is `localhost`, matches its `domain_regex` or is
    an IP literal. So an address that passes the length, `@` and both patterns is valid without
    asking; every other one (rare: most are rejected) is decided by `validate_email` itself.
    """
    if len(value) <= 320 and "@" in value:
        user, domain = value.rsplit("@", 1)
        if _EMAIL_USER.match(user):
            matches = _DOMAIN_MATCHES.get(domain)
            if matches is None:
                matches = _EMAIL_DOMAIN.match(domain) is not None
                if len(_DOMAIN_MATCHES) >= _MAX_DOMAINS:
                    _DOMAIN_MATCHES.clear()
                _DOMAIN_MATCHES[domain] = matches
            if matches:
                return True
    try:
        validate_email(value)
    except ValidationError:
        return False
    return True


def _standard_present(present: frozenset[str]) -> _Standard:
    standard = _STANDARD_PRESENT.get(present)
    if standard is None:
        standard = tuple(entry for entry in _STANDARD if entry[0] in present)
        if len(_STANDARD_PRESENT) >= _MAX_RESOLVED:
            _STANDARD_PRESENT.clear()
        _STANDARD_PRESENT[present] = standard
    return standard


def to_remote(record: PersonioEmployee, labels: Labels) -> RemoteEmployee | Skip:
    """Map one parsed Personio employee; a Skip (with the reason) when the portal cannot take it."""
    fields: dict[str, Any] = {}
    custom = record.custom
    try:
        for key, name, is_date, limit in _standard_present(record.present):
            value = getattr(record, key)
            if is_date:
                fields[name] = value  # a date or None: the parser typed it
            elif value and value.isprintable():  # the common case, `_clean_text` inlined
                text = value.strip()
                if limit is not None and len(text) > limit:
                    raise Unfit("text_too_long", field=name, limit=limit)
                fields[name] = text
            else:
                fields[name] = _clean_text(name, value)
        number_key, marital_key, opt_in_key = labels.resolve(custom)
        if number_key is not None:
            fields["personnel_number"] = _clean_text("personnel_number", custom[number_key])
        if marital_key is not None:
            fields["marital_status"] = _clean_text("marital_status", custom[marital_key])
        opt_in = custom[opt_in_key] if opt_in_key is not None else None
    except Unfit as exc:
        return _skip(record, fields, exc.code, **exc.params)

    email = fields.get("email")
    if email and not _is_valid_email(email):
        return _skip(record, fields, "invalid_email")
    if (
        "first_name" in fields
        and "last_name" in fields
        and not (fields["first_name"] or fields["last_name"])
    ):
        return _skip(record, fields, "no_name")
    status = fields.get("personio_status")
    if status and status not in KNOWN_STATUSES:
        return _skip(record, fields, "unknown_status", status=repr(status[:40]))
    hire, leaving = fields.get("hire_date"), fields.get("leaving_date")
    for code, day in (("implausible_hire_date", hire), ("implausible_leaving_date", leaving)):
        if day is not None and day < _EARLIEST:
            return _skip(record, fields, code, date=day.isoformat())
    if hire is not None and leaving is not None and hire > leaving:
        return _skip(
            record, fields, "hire_after_leaving", hire=hire.isoformat(), leaving=leaving.isoformat()
        )
    return RemoteEmployee(record.id, fields, opt_in)


class Unfit(ValueError):
    """A value the portal cannot take; `code` names the reason in `texts.CATALOGUE`."""

    def __init__(self, code: str, **params: Any) -> None:
        super().__init__(code)
        self.code = code
        self.params = params


def _skip(record: PersonioEmployee, fields: dict[str, Any], code: str, **params: Any) -> Skip:
    """A Skip that names the person as far as their record could be read."""
    name = f"{fields.get('first_name') or ''} {fields.get('last_name') or ''}".strip()
    return Skip(record.id, code, params=params, name=name)


def bad_record_skip(record: BadRecord) -> Skip:
    return Skip(record.personio_id, "unreadable_record", params={"detail": record.reason})
