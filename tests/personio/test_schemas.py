"""Parsing Personio v1 employee records, quirks included."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import pytest

from benefitsync.integrations.personio.errors import BadRecord
from benefitsync.integrations.personio.schemas import (
    PersonioEmployee,
    parse_attribute,
    parse_employee,
    parse_page,
)


def attr(value: Any, label: str = "x", type_: str = "standard") -> dict[str, Any]:
    return {"label": label, "value": value, "type": type_, "universal_id": None}


def record(**attrs: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"id": attr(42, "ID", "integer")}
    base.update(attrs)
    return {"type": "Employee", "attributes": base}


def parse_ok(raw: Any, labels: dict[str, str] | None = None) -> PersonioEmployee:
    parsed = parse_employee(raw, labels)
    assert isinstance(parsed, PersonioEmployee), parsed
    return parsed


def test_standard_dates_keep_the_calendar_day_whatever_the_offset() -> None:
    emp = parse_ok(
        record(
            hire_date=attr("2024-04-01T00:00:00+02:00", type_="date"),
            termination_date=attr("2026-12-31T00:00:00+0100", type_="date"),
        )
    )
    assert emp.hire_date == date(2024, 4, 1)
    assert emp.termination_date == date(2026, 12, 31)


@pytest.mark.parametrize("empty", ["", None, [], {}])
def test_every_spelling_of_unset_becomes_none(empty: Any) -> None:
    emp = parse_ok(
        record(
            email=attr(empty),
            termination_date=attr(empty, type_="date"),
            subcompany=attr(empty),
            dynamic_1=attr(empty, "Probonio Filter"),
        )
    )
    assert emp.email is None and emp.termination_date is None and emp.subcompany is None
    assert emp.custom == {"Probonio Filter": None}
    assert {"email", "termination_date", "subcompany", "Probonio Filter"} <= emp.present


def test_subcompany_is_read_from_its_typed_object() -> None:
    sub = {"type": "Subcompany", "attributes": {"id": 7, "name": " Nordlicht Services GmbH "}}
    assert parse_ok(record(subcompany=attr(sub))).subcompany == "Nordlicht Services GmbH"


def test_custom_values_are_normalised_to_strings_and_keyed_by_label() -> None:
    emp = parse_ok(
        record(
            dynamic_1=attr(10042, "Personalnummer", "integer"),
            dynamic_2=attr(True, "Verheiratet?", "list"),
            dynamic_3=attr(["Deutsch", "Englisch"], "Sprachen", "tags"),
            dynamic_4=attr("1983-08-18", "Geburtstag", "date"),
            dynamic_5=attr(12.0, "Faktor", "decimal"),
        )
    )
    assert emp.custom == {
        "Personalnummer": "10042",
        "Verheiratet?": "true",
        "Sprachen": "Deutsch, Englisch",
        "Geburtstag": "1983-08-18",
        "Faktor": "12",
    }


def test_a_custom_attribute_without_label_takes_it_from_the_attributes_endpoint() -> None:
    raw = record(dynamic_9={"value": "ja"})
    assert parse_ok(raw, {"dynamic_9": "Probonio Filter"}).custom == {"Probonio Filter": "ja"}


def test_present_lists_only_what_personio_delivered() -> None:
    emp = parse_ok(record(first_name=attr("Anna"), dynamic_1=attr("ja", "Probonio Filter")))
    assert emp.present == frozenset({"id", "first_name", "Probonio Filter"})
    assert emp.last_name is None


def test_status_is_lowercased_and_unknown_values_are_kept() -> None:
    assert parse_ok(record(status=attr("Active"))).status == "active"
    assert parse_ok(record(status=attr("alumni"))).status == "alumni"


def test_last_modified_at_is_an_aware_datetime_naive_ones_in_berlin_time() -> None:
    emp = parse_ok(record(last_modified_at=attr("2020-11-18T17:33:55+01:00")))
    assert emp.last_modified_at == datetime.fromisoformat("2020-11-18T17:33:55+01:00")
    naive = parse_ok(record(last_modified_at=attr("2024-07-01T10:00:00")))
    assert naive.last_modified_at is not None
    assert naive.last_modified_at.utcoffset() == timedelta(hours=2)


def test_an_invalid_date_becomes_a_bad_record_with_reason_and_id() -> None:
    bad = parse_employee(record(termination_date=attr("2026-13-45", type_="date")), None)
    assert isinstance(bad, BadRecord)
    assert bad.personio_id == 42
    assert "termination_date" in bad.reason
    assert "2026-13-45" in bad.raw


def test_a_record_without_id_is_bad_without_id() -> None:
    bad = parse_employee({"type": "Employee", "attributes": {"first_name": attr("A")}}, None)
    assert isinstance(bad, BadRecord) and bad.personio_id is None


def test_ids_sent_as_strings_are_accepted() -> None:
    raw = {"type": "Employee", "attributes": {"id": attr("77")}}
    assert parse_ok(raw).id == 77


def test_garbage_items_are_bad_records_not_exceptions() -> None:
    assert isinstance(parse_employee("nonsense", None), BadRecord)
    assert isinstance(parse_employee(record(first_name=attr({"a": 1})), None), BadRecord)


def test_bad_record_excerpts_are_short() -> None:
    bad = BadRecord(1, "too long", "x" * 5000)
    assert len(bad.raw) <= 200


def test_a_page_without_data_is_refused_and_missing_metadata_is_tolerated() -> None:
    with pytest.raises(ValueError):
        parse_page({"success": True})
    page = parse_page({"success": True, "data": []})
    assert page.total_elements is None and page.items == []


def test_attribute_options_are_strings() -> None:
    info = parse_attribute(
        {"key": "dynamic_2", "label": "Marital status", "type": "list", "options": ["a", 1]}
    )
    assert info is not None and info.options == ("a", "1") and info.universal_id is None
    assert parse_attribute({"label": "no key"}) is None
