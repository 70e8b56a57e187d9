"""Typed models of what Personio's v1 employees API returns, and tolerant parsers for them.

Personio v1 wraps every employee attribute as `{"label", "value", "type", "universal_id"}` and is
inconsistent about empty values and formats. The parsers here absorb those quirks so the rest of
benefitsync sees one shape:

- unset values arrive as `""` (text), `null` (dates) or `[]` (objects, lists, tags): all become
  None;
- standard dates arrive as `YYYY-MM-DDT00:00:00+01:00` (the offset follows German summer time, and
  the spec's own example uses `+0100`); custom dates as plain `YYYY-MM-DD`. We keep the calendar
  date *as written*: converting `2024-04-01T00:00:00+02:00` to UTC would make it the 31st of
  March;
- `subcompany`/`office`/`department` are typed objects `{"type": "Subcompany", "attributes":
  {"id", "name"}}`; we keep the name;
- numbers may come as strings (`weekly_working_hours: "40"`) and custom values as numbers, booleans
  or tag lists: custom values are normalised to one string (or None);
- custom attributes are `dynamic_<N>` keys whose meaning is only in their label; they are keyed by
  label (falling back to the label from `GET /v1/company/employees/attributes` when a record omits
  it).

References: the `Employee` schema and examples in Personio's personnel-data OpenAPI file
(https://github.com/personio/api-docs, `personio-personnel-data-api-oa3.yaml`) and
https://developer.personio.de/reference/get_company-employees.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import msgspec
from pydantic import BaseModel, ConfigDict

from .errors import BadRecord

#: Personio interprets and renders timestamps in the company's time zone; German customers are
#: on Europe/Berlin, which is also what naive timestamps are read as.
PERSONIO_TZ = ZoneInfo("Europe/Berlin")

STANDARD_FIELDS = (
    "first_name",
    "last_name",
    "email",
    "status",
    "employment_type",
    "gender",
    "hire_date",
    "termination_date",
    "subcompany",
    "last_modified_at",
)
CUSTOM_PREFIX = "dynamic_"

_DATE_RE = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?$"
)


class PersonioEmployee(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """One employee as Personio delivered it, normalised.

    `present` lists the attribute keys Personio actually delivered (standard keys and custom
    labels): an attribute missing from the credential's whitelist is absent, not empty, and the
    sync must be able to tell the two apart.

    A typed, frozen msgspec Struct rather than a pydantic model, although every other value the
    client returns is pydantic (STYLE.md): `parse_employee` has checked each value already, and
    pydantic's validation of the checked values was the largest single cost of a record after
    the JSON decoding (~3 µs of the ~6 µs budget, docs/personio.md "CPU per record"). Fields,
    keyword construction, `isinstance`, equality and immutability are the same as before.
    """

    id: int
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    status: str | None = None
    employment_type: str | None = None
    gender: str | None = None
    hire_date: date | None = None
    termination_date: date | None = None
    subcompany: str | None = None
    last_modified_at: datetime | None = None
    custom: dict[str, str | None] = {}
    present: frozenset[str] = frozenset()


class Attribute(msgspec.Struct, gc=False):
    """One wrapped attribute `{"label", "value", "type", "universal_id"}` as the typed page
    decoder (`decode.py`) reads it; `universal_id` is skipped unread."""

    value: Any = None
    label: Any = None
    type: Any = None


class AttributeInfo(BaseModel):
    """One attribute the credential may read (`GET /v1/company/employees/attributes`)."""

    model_config = ConfigDict(frozen=True)

    key: str
    label: str
    type: str
    universal_id: str | None = None
    options: tuple[str, ...] = ()


EmployeeRecord = PersonioEmployee | BadRecord


class _Invalid(Exception):
    def __init__(self, reason: str, raw: object) -> None:
        super().__init__(reason)
        self.reason = reason
        self.raw = raw


def _excerpt(value: object) -> str:
    try:
        return json.dumps(value, ensure_ascii=False, default=str)[:200]
    except (TypeError, ValueError):
        return repr(value)[:200]


def _is_empty(value: object) -> bool:
    # Personio's three spellings of "not set".
    return value is None or value == "" or value == [] or value == {}


def _text(field: str, value: object) -> str | None:
    if type(value) is str:  # the common case, first; the same result as the general path
        return value.strip() or None
    if _is_empty(value):
        return None
    if isinstance(value, bool):
        raise _Invalid(f"{field}: expected text, got a boolean", value)
    if isinstance(value, int | float):
        return _number(value)
    if isinstance(value, str):
        return value.strip() or None
    raise _Invalid(f"{field}: expected text, got {type(value).__name__}", value)


def _number(value: int | float) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def parse_date(field: str, value: object) -> date | None:
    """A Personio date (`YYYY-MM-DD` or `YYYY-MM-DDT00:00:00+01:00`) as the date written."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        if _is_empty(value):
            return None
        raise _Invalid(f"{field}: expected a date string, got {type(value).__name__}", value)
    m = _DATE_RE.match(value.strip())
    if not m:
        raise _Invalid(f"{field}: not a date: {value[:40]!r}", value)
    try:
        return date(int(m[1]), int(m[2]), int(m[3]))
    except ValueError:
        raise _Invalid(f"{field}: invalid date {value[:40]!r}", value) from None


def parse_datetime(field: str, value: object) -> datetime | None:
    """An ISO 8601 timestamp; naive ones are Personio local time (Europe/Berlin)."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        if _is_empty(value):
            return None
        raise _Invalid(f"{field}: expected a timestamp, got {type(value).__name__}", value)
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise _Invalid(f"{field}: invalid timestamp {value[:40]!r}", value) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=PERSONIO_TZ)


def _object_name(field: str, value: object) -> str | None:
    if _is_empty(value):
        return None
    if isinstance(value, str):
        # Tolerate a plain name (older responses and hand-made fixtures do this).
        return value.strip() or None
    if isinstance(value, dict):
        attrs = value.get("attributes")
        name = attrs.get("name") if isinstance(attrs, dict) else value.get("name")
        if name is None:
            return None
        if isinstance(name, str):
            return name.strip() or None
    raise _Invalid(f"{field}: expected a typed object with a name", value)


def custom_value(value: object, attr_type: str | None = None) -> str | None:
    """Normalise a custom attribute value to one string, or None when unset."""
    if type(value) is str:  # the common case, first; the same result as the general path
        text = value.strip()
        if attr_type == "date" and _DATE_RE.match(text):
            return text[:10]
        return text or None
    if _is_empty(value):
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return _number(value)
    if isinstance(value, str):
        text = value.strip()
        if attr_type == "date" and _DATE_RE.match(text):
            return text[:10]
        return text or None
    if isinstance(value, list):
        # `tags` attributes: a list of options (strings, or objects with a name).
        parts = [p for p in (custom_value(v) for v in value) if p]
        return ", ".join(parts) or None
    if isinstance(value, dict):
        attrs = value.get("attributes")
        name = attrs.get("name") if isinstance(attrs, dict) else value.get("name")
        if isinstance(name, str):
            return name.strip() or None
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return str(value)


def _parse_id(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdecimal():
        return int(value.strip())
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


@dataclass(slots=True)
class _Shape:
    """What depends only on which attribute keys a record has, in which order: the same for
    nearly every record of a company, so it is worked out once (see `_shape_of`)."""

    standard: frozenset[str]  # the keys that are not custom attributes
    custom_keys: tuple[str, ...]  # the `dynamic_N` keys, in the record's order
    # The record's custom labels (the keys of `custom`, in order) -> its `present`, so that
    # records of one shape share one frozenset instead of each building its own.
    present: dict[tuple[str, ...], frozenset[str]]


# Bounded: a listing whose records all differ in their keys only ever costs a re-computation.
_SHAPES: dict[tuple[str, ...], _Shape] = {}
_MAX_SHAPES = 64


def _shape_of(attrs: Mapping[str, Any]) -> _Shape:
    keys = tuple(attrs)
    shape = _SHAPES.get(keys)
    if shape is None:
        if len(_SHAPES) >= _MAX_SHAPES:
            _SHAPES.clear()
        shape = _Shape(
            standard=frozenset(k for k in keys if not k.startswith(CUSTOM_PREFIX)),
            custom_keys=tuple(k for k in keys if k.startswith(CUSTOM_PREFIX)),
            present={},
        )
        _SHAPES[keys] = shape
    return shape


def _present(shape: _Shape, custom: dict[str, str | None]) -> frozenset[str]:
    labels = tuple(custom)
    present = shape.present.get(labels)
    if present is None:
        if len(shape.present) >= _MAX_SHAPES:
            shape.present.clear()
        present = shape.standard.union(labels)
        shape.present[labels] = present
    return present


def parse_employee(raw: object, labels: Mapping[str, str] | None = None) -> EmployeeRecord:
    """Parse one `{"type": "Employee", "attributes": {...}}` item; never raises.

    `labels` maps `dynamic_N` keys to labels (from the attributes endpoint) for records that
    arrive without a label. Anything unreadable becomes a `BadRecord` with the reason.
    """
    if not isinstance(raw, dict) or not isinstance(raw.get("attributes"), dict):
        return BadRecord(None, "employee item without an attributes object", _excerpt(raw))
    return employee_from_attributes(raw["attributes"], labels)


def _unwrap(entry: object) -> tuple[object, object, object]:
    """(value, label, type) of one attribute: a decoded `Attribute`, a wrapping dict, or (as
    tolerated) a bare value."""
    if type(entry) is Attribute:
        return entry.value, entry.label, entry.type
    if isinstance(entry, dict):
        return entry.get("value"), entry.get("label"), entry.get("type")
    return entry, None, None


def _excerpt_entry(entry: object) -> str:
    if type(entry) is Attribute:
        entry = {"label": entry.label, "value": entry.value, "type": entry.type}
    return _excerpt(entry)


def employee_from_attributes(
    attrs: Mapping[str, Any], labels: Mapping[str, str] | None = None
) -> EmployeeRecord:
    """The record of one item's `attributes` mapping, whose entries are `Attribute`s (the typed
    decoder's) or dicts / bare values (the generic JSON decoder's); never raises."""
    get = attrs.get

    def value_of(key: str) -> object:
        entry = get(key)
        if type(entry) is Attribute:  # the typed decoder's, nearly always
            return entry.value
        # Each attribute is wrapped as {"label", "value", ...}; tolerate a bare value.
        return entry.get("value") if isinstance(entry, dict) else entry

    personio_id = _parse_id(value_of("id"))
    if personio_id is None:
        return BadRecord(None, "missing or invalid id", _excerpt_entry(get("id")))

    shape = _shape_of(attrs)
    try:
        first_name = _text("first_name", value_of("first_name"))
        last_name = _text("last_name", value_of("last_name"))
        email = _text("email", value_of("email"))
        status = (_text("status", value_of("status")) or "").lower() or None
        employment_type = _text("employment_type", value_of("employment_type"))
        gender = _text("gender", value_of("gender"))
        hire_date = parse_date("hire_date", value_of("hire_date"))
        termination_date = parse_date("termination_date", value_of("termination_date"))
        subcompany = _object_name("subcompany", value_of("subcompany"))
        last_modified_at = parse_datetime("last_modified_at", value_of("last_modified_at"))
    except _Invalid as exc:
        return BadRecord(personio_id, exc.reason, _excerpt(exc.raw))
    custom: dict[str, str | None] = {}
    for key in shape.custom_keys:
        value, label, attr_type = _unwrap(attrs[key])
        if not isinstance(label, str) or not label.strip():
            label = (labels or {}).get(key, key)
        label = label.strip()
        if label in custom:
            # Two custom attributes with one label are ambiguous in Personio's UI as well;
            # keep the first and make the second reachable by its key.
            label = f"{label} ({key})"
        custom[label] = custom_value(value, attr_type if isinstance(attr_type, str) else None)
    return PersonioEmployee(
        id=personio_id,
        first_name=first_name,
        last_name=last_name,
        email=email,
        status=status,
        employment_type=employment_type,
        gender=gender,
        hire_date=hire_date,
        termination_date=termination_date,
        subcompany=subcompany,
        last_modified_at=last_modified_at,
        custom=custom,
        present=_present(shape, custom),
    )


_UNSET = Attribute()
# Personio's dates repeat (hire dates, leaving dates, custom dates): each distinct string is
# parsed once. Bounded; only valid dates are kept.
_DATES: dict[str, date] = {}
_MAX_DATES = 16_384


def _date(field: str, value: object) -> date | None:
    if type(value) is str:
        known = _DATES.get(value)
        if known is not None:
            return known
        parsed = parse_date(field, value)
        if parsed is not None and len(_DATES) < _MAX_DATES:
            _DATES[value] = parsed
        return parsed
    return parse_date(field, value)


def employee_from_typed(
    attrs: dict[str, Attribute], labels: Mapping[str, str] | None = None
) -> EmployeeRecord:
    """`employee_from_attributes` for the typed decoder's `Attribute` entries, with the common
    cases (text as `str`, dates seen before) inlined: the same result, at about half the cost
    (tests/personio/test_decode.py checks both give equal records for the sandbox's pages)."""
    get = attrs.get
    unset = _UNSET
    personio_id = get("id", unset).value
    if type(personio_id) is not int:
        personio_id = _parse_id(personio_id)
        if personio_id is None:
            return BadRecord(None, "missing or invalid id", _excerpt_entry(get("id")))
    shape = _shape_of(attrs)
    try:
        v = get("first_name", unset).value
        first_name = (v.strip() or None) if type(v) is str else _text("first_name", v)
        v = get("last_name", unset).value
        last_name = (v.strip() or None) if type(v) is str else _text("last_name", v)
        v = get("email", unset).value
        email = (v.strip() or None) if type(v) is str else _text("email", v)
        v = get("status", unset).value
        status = (v if type(v) is str else _text("status", v) or "").strip().lower() or None
        v = get("employment_type", unset).value
        employment_type = (v.strip() or None) if type(v) is str else _text("employment_type", v)
        v = get("gender", unset).value
        gender = (v.strip() or None) if type(v) is str else _text("gender", v)
        hire_date = _date("hire_date", get("hire_date", unset).value)
        termination_date = _date("termination_date", get("termination_date", unset).value)
        v = get("subcompany", unset).value
        # {"type": "Subcompany", "attributes": {"id", "name"}}, as Personio sends it
        inner = v.get("attributes") if type(v) is dict else None
        name = inner.get("name") if type(inner) is dict else None
        subcompany = (name.strip() or None) if type(name) is str else _object_name("subcompany", v)
        v = get("last_modified_at", unset).value
        try:
            # The common case, an ISO 8601 timestamp with offset; parse_datetime for the rest.
            last_modified_at = datetime.fromisoformat(v) if type(v) is str else None
        except ValueError:
            last_modified_at = None
        if last_modified_at is None or last_modified_at.tzinfo is None:
            last_modified_at = parse_datetime("last_modified_at", v)
    except _Invalid as exc:
        return BadRecord(personio_id, exc.reason, _excerpt(exc.raw))
    custom: dict[str, str | None] = {}
    for key in shape.custom_keys:
        entry = attrs[key]
        label = entry.label
        if type(label) is not str or not label.strip():
            label = (labels or {}).get(key, key)
        label = label.strip()
        if label in custom:
            label = f"{label} ({key})"  # as in employee_from_attributes
        v = entry.value
        attr_type = entry.type if type(entry.type) is str else None
        if type(v) is str and attr_type != "date":
            custom[label] = v.strip() or None
        else:
            custom[label] = custom_value(v, attr_type)
    return PersonioEmployee(
        id=personio_id,
        first_name=first_name,
        last_name=last_name,
        email=email,
        status=status,
        employment_type=employment_type,
        gender=gender,
        hire_date=hire_date,
        termination_date=termination_date,
        subcompany=subcompany,
        last_modified_at=last_modified_at,
        custom=custom,
        present=_present(shape, custom),
    )


def parse_attribute(raw: object) -> AttributeInfo | None:
    """One item of `GET /v1/company/employees/attributes`; None when it has no key."""
    if not isinstance(raw, dict) or not isinstance(raw.get("key"), str):
        return None
    options = raw.get("options") or []
    return AttributeInfo(
        key=raw["key"],
        label=str(raw.get("label") or raw["key"]),
        type=str(raw.get("type") or "standard"),
        universal_id=raw["universal_id"] if isinstance(raw.get("universal_id"), str) else None,
        options=tuple(o for o in (custom_value(x) for x in options) if o is not None)
        if isinstance(options, list)
        else (),
    )


@dataclass(frozen=True)
class PageInfo:
    """The paging envelope of one `GET /v1/company/employees` response."""

    total_elements: int | None
    total_pages: int | None
    current_page: int | None
    items: list[Any]


def parse_page(payload: object) -> PageInfo:
    """Split a list response into metadata and raw items; ValueError when it is not one."""
    if not isinstance(payload, dict) or not isinstance(payload.get("data"), list):
        raise ValueError("employees response without a data list")
    meta = payload.get("metadata")
    meta = meta if isinstance(meta, dict) else {}

    def as_int(key: str) -> int | None:
        v = meta.get(key)
        return _parse_id(v)

    return PageInfo(
        total_elements=as_int("total_elements"),
        total_pages=as_int("total_pages"),
        current_page=as_int("current_page"),
        items=payload["data"],
    )
