"""Decoding Personio's response bodies: a typed decoder for the documented shape, the generic one
for anything else.

Why msgspec and a typed decode (measured in `bench/personio_fetch.py`, numbers in
docs/benchmarks.md): the standard library's `json.loads` (what `httpx.Response.json()` uses)
builds a dict for every attribute of every employee, ~30 attributes with four keys each, and was
about half of the client's CPU per record. msgspec decodes a page straight into `Attribute`
structs, skips what benefitsync never reads (`universal_id`, the item's `type`) without building
it, and costs less than a bare `orjson.loads` of the same page. The records are then flattened by
the same tolerant code as before (`schemas.employee_from_attributes`).

A page that does not fit the documented shape (an item without `attributes`, a bare attribute
value, metadata that is not an object) is decoded again generically and parsed item by item, so a
malformed record still only costs itself: it becomes a `BadRecord`, the rest of the page is read.
Invalid JSON is `InvalidJSON` (the client retries it: truncated bodies happen behind proxies).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import msgspec

from .schemas import (
    Attribute,
    EmployeeRecord,
    _parse_id,
    employee_from_typed,
    parse_employee,
)


class InvalidJSON(ValueError):
    """The body is not JSON at all (truncated, garbled, not UTF-8)."""


class _Item(msgspec.Struct, gc=False):
    attributes: dict[str, Attribute]


class _Metadata(msgspec.Struct, gc=False):
    total_elements: Any = None
    current_page: Any = None
    total_pages: Any = None


class _Envelope(msgspec.Struct, gc=False):
    data: list[_Item]
    success: Any = None
    metadata: _Metadata | None = None


_TYPED = msgspec.json.Decoder(_Envelope)
_GENERIC = msgspec.json.Decoder()


@dataclass(frozen=True, slots=True)
class DecodedPage:
    """One page of `GET /v1/company/employees`, parsed. Of the raw items only what the paging's
    overlap check reads is kept: their count and the raw ids of the first and the last."""

    success: object
    total_elements: int | None
    size: int
    first_id: object
    last_id: object
    records: list[EmployeeRecord]


def decode_object(body: bytes) -> Any:
    """Any JSON body, generically (dicts and lists); `InvalidJSON` when it is not JSON."""
    try:
        return _GENERIC.decode(body)
    except msgspec.DecodeError as exc:
        raise InvalidJSON(str(exc)) from None


def _typed_id(item: _Item) -> object:
    entry = item.attributes.get("id")
    return entry.value if entry is not None else None


def _raw_id(item: object) -> object:
    try:
        return item["attributes"]["id"]["value"]  # type: ignore[index]
    except (KeyError, TypeError):
        return None


def decode_page(body: bytes, labels: Mapping[str, str]) -> DecodedPage:
    """Decode and parse one employees page. `InvalidJSON` when the body is not JSON; ValueError
    when it is JSON but no employees list (no `data` list)."""
    try:
        envelope = _TYPED.decode(body)
    except msgspec.ValidationError:
        return _decode_page_generic(body, labels)
    except msgspec.DecodeError as exc:
        raise InvalidJSON(str(exc)) from None
    items = envelope.data
    meta = envelope.metadata
    return DecodedPage(
        success=envelope.success,
        total_elements=_parse_id(meta.total_elements) if meta is not None else None,
        size=len(items),
        first_id=_typed_id(items[0]) if items else None,
        last_id=_typed_id(items[-1]) if items else None,
        records=[employee_from_typed(item.attributes, labels) for item in items],
    )


def _decode_page_generic(body: bytes, labels: Mapping[str, str]) -> DecodedPage:
    payload = decode_object(body)
    if not isinstance(payload, dict) or not isinstance(payload.get("data"), list):
        raise ValueError("employees response without a data list")
    items: list[Any] = payload["data"]
    meta = payload.get("metadata")
    total = _parse_id(meta.get("total_elements")) if isinstance(meta, dict) else None
    records: list[EmployeeRecord] = [parse_employee(item, labels) for item in items]
    return DecodedPage(
        success=payload.get("success"),
        total_elements=total,
        size=len(items),
        first_id=_raw_id(items[0]) if items else None,
        last_id=_raw_id(items[-1]) if items else None,
        records=records,
    )


__all__ = ["DecodedPage", "InvalidJSON", "decode_object", "decode_page"]
