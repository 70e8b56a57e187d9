"""A corpus of bad Personio records: each becomes a per-record error with a reason, and the rest
of the run is applied. Plus Hypothesis fuzzing of the parser: it never raises."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from django.conf import LazySettings
from hypothesis import given, settings
from hypothesis import strategies as st

from benefitsync.companies.models import Company
from benefitsync.employees.models import Employee
from benefitsync.integrations.personio import services
from benefitsync.integrations.personio.errors import BadRecord
from benefitsync.integrations.personio.mapping import Labels, to_remote
from benefitsync.integrations.personio.models import RunStatus
from benefitsync.integrations.personio.reconcile import Skip
from benefitsync.integrations.personio.schemas import parse_employee
from tests.sync.conftest import sync_now

LABELS = Labels.parse("Personalnummer", "Verheiratet?", "Probonio Filter")


def attr(value: Any, label: str = "", type_: str = "standard") -> dict[str, Any]:
    return {"label": label, "value": value, "type": type_, "universal_id": None}


_ids = itertools.count(1)


def record(pid: Any = None, **overrides: Any) -> dict[str, Any]:
    """A Personio v1 employee item (a fresh id unless `pid` is given), with `overrides`."""
    if pid is None and "pid" not in overrides:
        pid = next(_ids)
    attrs: dict[str, Any] = {
        "id": attr(pid, "ID", "integer"),
        "first_name": attr("Anna", "First name"),
        "last_name": attr("Beck", "Last name"),
        "email": attr(f"anna{pid}@nordlicht.de", "Email"),
        "status": attr("active", "Status"),
        "employment_type": attr("internal", "Employment type"),
        "gender": attr("female", "Gender"),
        "hire_date": attr("2020-01-01T00:00:00+01:00", "Hire date", "date"),
        "termination_date": attr(None, "Termination date", "date"),
        "subcompany": attr(
            {"type": "Subcompany", "attributes": {"id": 1, "name": "Nordlicht GmbH"}},
            "Subcompany",
        ),
        "dynamic_1": attr("1001", "Personalnummer"),
    }
    for key, value in overrides.items():
        if value is _DROP:
            attrs.pop(key, None)
        elif isinstance(value, _Raw):
            attrs[key] = value.value
        else:
            attrs[key] = attr(value, key)
    return {"type": "Employee", "attributes": attrs}


class _Raw:
    def __init__(self, value: Any) -> None:
        self.value = value


_DROP = object()

# (kind, raw item); each must come out as a per-record error (BadRecord or Skip with a reason).
CORPUS: list[tuple[str, Any]] = [
    ("not an object", "Employee"),
    ("null item", None),
    ("no attributes", {"type": "Employee"}),
    ("attributes is a list", {"type": "Employee", "attributes": []}),
    ("missing id", record(id=_DROP)),
    ("id is text", record(pid="abc")),
    ("id is null", record(id=_Raw(attr(None, "ID", "integer")))),
    ("id is a boolean", record(pid=True)),
    ("invalid e-mail", record(email="not-an-email")),
    ("e-mail with spaces inside", record(email="anna beck@nordlicht.de")),
    ("e-mail is a number", record(email=12345)),
    ("e-mail is an object", record(email={"address": "a@b.de"})),
    ("unknown status", record(status="retired")),
    ("status is a list", record(status=["active"])),
    ("malformed hire date", record(hire_date="01.02.2020")),
    ("impossible date", record(hire_date="2021-02-30")),
    ("impossible month", record(termination_date="2026-13-01")),
    ("date is a number", record(hire_date=20200101)),
    ("year 0001", record(hire_date="0001-01-01")),
    (
        "hire date after leaving date",
        record(hire_date="2026-05-01T00:00:00+02:00", termination_date="2026-01-31T00:00:00+01:00"),
    ),
    ("10 kB first name", record(first_name="A" * 10_000)),
    ("10 kB last name", record(last_name="B" * 10_000)),
    ("no name at all", record(first_name="", last_name="")),
    ("name is a boolean", record(first_name=True)),
    ("name is an object", record(last_name={"de": "Beck"})),
    ("subcompany of unknown shape", record(subcompany=_Raw(attr([1, 2, 3], "Subcompany")))),
    (
        "subcompany name is a number",
        record(
            subcompany=_Raw(attr({"type": "Subcompany", "attributes": {"name": 42}}, "Subcompany"))
        ),
    ),
    ("10 kB personnel number", record(dynamic_1=_Raw(attr("9" * 10_000, "Personalnummer")))),
    ("termination date is an object", record(termination_date={"date": "2026-01-01"})),
    ("last_modified_at garbage", record(last_modified_at="yesterday")),
    ("gender is a list of objects", record(gender=[{"x": 1}])),
    ("e-mail with control characters only", record(email="\x00\x01")),
    # str.isdigit() is true for "¹", int() refuses it (found by the property test below).
    ("id is a superscript digit", record(id="¹")),
]


def outcome(raw: Any) -> BadRecord | Skip | None:
    parsed = parse_employee(raw)
    if isinstance(parsed, BadRecord):
        return parsed
    mapped = to_remote(parsed, LABELS)
    return mapped if isinstance(mapped, Skip) else None


def test_the_corpus_has_at_least_30_kinds_of_bad_records() -> None:
    assert len({kind for kind, _ in CORPUS}) >= 30


@pytest.mark.parametrize(("kind", "raw"), CORPUS, ids=[k for k, _ in CORPUS])
def test_bad_record_becomes_a_per_record_error_with_a_reason(kind: str, raw: Any) -> None:
    result = outcome(raw)
    assert result is not None, f"{kind} was accepted"
    assert result.code if isinstance(result, Skip) else result.reason


def test_control_characters_are_removed_from_names() -> None:
    parsed = parse_employee(record(first_name="An\x07na"))
    mapped = to_remote(parsed, LABELS)  # type: ignore[arg-type]
    assert not isinstance(mapped, Skip)
    assert mapped.fields["first_name"] == "Anna"


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner, max_size=3)
    ),
    max_leaves=10,
)


@settings(max_examples=300, deadline=None)
@given(
    overrides=st.dictionaries(
        st.sampled_from(
            [
                "id",
                "first_name",
                "last_name",
                "email",
                "status",
                "hire_date",
                "termination_date",
                "subcompany",
                "gender",
                "dynamic_1",
                "last_modified_at",
            ]
        ),
        json_values,
        max_size=4,
    )
)
def test_the_parser_and_mapping_never_raise_on_any_json(overrides: dict[str, Any]) -> None:
    raw = record(**{k: _Raw(attr(v, k)) if k != "id" else v for k, v in overrides.items()})
    result = parse_employee(raw)
    if not isinstance(result, BadRecord):
        to_remote(result, LABELS)


@settings(max_examples=100, deadline=None)
@given(raw=json_values)
def test_the_parser_never_raises_on_an_arbitrary_item(raw: Any) -> None:
    assert parse_employee(raw) is not None


# --- a whole run with bad records in the answer ---------------------------------------------


def personio_serving(items: list[Any]) -> Callable[[httpx.Request], httpx.Response]:
    attributes = [
        {"key": k, "label": k, "type": "standard"}
        for k in ("first_name", "last_name", "email", "termination_date", "status")
    ]

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v1/auth":
            return httpx.Response(200, json={"success": True, "data": {"token": "papi-t"}})
        if request.url.path.endswith("/attributes"):
            return httpx.Response(200, json={"success": True, "data": attributes})
        offset = int(request.url.params.get("offset", 0))
        limit = int(request.url.params.get("limit", 100))
        page = items[offset : offset + limit]
        body = {
            "success": True,
            "metadata": {
                "total_elements": len(items),
                "current_page": offset // limit,
                "total_pages": max(1, -(-len(items) // limit)),
            },
            "offset": offset,
            "limit": limit,
            "data": page,
        }
        return httpx.Response(200, content=json.dumps(body).encode())

    return handler


@pytest.mark.django_db
def test_a_run_with_bad_records_applies_the_good_ones_and_reports_each_bad_one(
    settings: LazySettings,
) -> None:
    good = [record(pid=1000 + i) for i in range(5)]
    bad = [raw for _kind, raw in CORPUS if isinstance(raw, dict) and "attributes" in raw]
    settings.PERSONIO_CLIENT_OPTIONS = {
        "transport": httpx.MockTransport(personio_serving(good + bad)),
        "retry_wait_scale": 0.001,
    }
    company = Company.objects.create(name="Nordlicht GmbH", slug="nordlicht")
    services.do_connect_personio(
        company,
        client_id="id",
        client_secret="secret",
        base_url="https://personio.test",
        acting_user=None,
        first_sync=False,
    )
    run = sync_now(company)
    assert run.status == RunStatus.PARTLY_FAILED
    created = set(Employee.objects.values_list("personio_id", "first_name", "last_name", "email"))
    assert {c[0] for c in created} == set(range(1000, 1005)), created
    errors = run.events.filter(error=True)
    assert errors.count() == run.counts["errors"] >= len(bad) - 1
    assert all(e.text for e in errors)
