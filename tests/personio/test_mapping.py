"""Mapping parsed Personio employees to portal fields: e-mail validity and custom labels."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from benefitsync.integrations.personio.mapping import Labels, to_remote
from benefitsync.integrations.personio.reconcile import RemoteEmployee, Skip
from benefitsync.integrations.personio.schemas import PersonioEmployee, parse_employee


def employee(email: str = "anna@nordlicht.de", **custom: Any) -> PersonioEmployee:
    attrs: dict[str, Any] = {
        "id": {"label": "ID", "value": 42, "type": "integer"},
        "first_name": {"label": "First name", "value": "Anna", "type": "standard"},
        "email": {"label": "Email", "value": email, "type": "standard"},
    }
    for n, (label, value) in enumerate(custom.items(), start=1):
        attrs[f"dynamic_{n}"] = {"label": label, "value": value, "type": "standard"}
    parsed = parse_employee({"type": "Employee", "attributes": attrs})
    assert isinstance(parsed, PersonioEmployee), parsed
    return parsed


def mapped(record: PersonioEmployee, labels: Labels) -> RemoteEmployee:
    result = to_remote(record, labels)
    assert isinstance(result, RemoteEmployee), result
    return result


def django_accepts(address: str) -> bool:
    try:
        validate_email(address)
    except ValidationError:
        return False
    return True


ADDRESSES = [
    "anna@nordlicht.de",
    "anna.beck+benefits@mail.nordlicht-services.de",
    "o'brien@example.ie",
    "ÄNNA@bäckerei.de",
    "anna@xn--bckerei-bxa.de",
    "anna@localhost",
    "anna@[127.0.0.1]",
    "anna@[::1]",
    "anna@[999.1.1.1]",
    '"anna beck"@nordlicht.de',
    '"anna"@nordlicht.de',
    "anna@bäckerei.de",
    "anna beck@nordlicht.de",
    "anna@nordlicht",
    "anna@-nordlicht.de",
    "anna@nordlicht-.de",
    "anna@nordlicht.de.",
    "anna@nordlicht..de",
    ".anna@nordlicht.de",
    "anna.@nordlicht.de",
    "anna@@nordlicht.de",
    "@nordlicht.de",
    "anna@",
    "anna",
    "a" * 64 + "@" + "b" * 63 + ".de",
    "a" * 200 + "@nordlicht.de",
    "anna@" + "b" * 64 + ".de",
    "anna@nordlicht.d",
    "anna@nordlicht.123",
]


@pytest.mark.parametrize("address", ADDRESSES)
def test_an_email_is_skipped_exactly_when_djangos_validate_email_refuses_it(address: str) -> None:
    result = to_remote(employee(address), Labels.parse("", "", ""))
    if django_accepts(address):
        assert isinstance(result, RemoteEmployee), result
        assert result.fields["email"] == address
    else:
        assert isinstance(result, Skip) and result.code == "invalid_email"


def test_labels_match_case_insensitively_and_the_first_alternative_present_wins() -> None:
    labels = Labels.parse("Personalnummer, Personnel number", "Familienstand", "probonio filter")
    record = employee(**{"PERSONNEL NUMBER": "7", "personalnummer": "8", "Probonio Filter": "x"})
    remote = mapped(record, labels)
    assert remote.fields["personnel_number"] == "8"
    assert "marital_status" not in remote.fields
    assert remote.opt_in == "x"


def test_one_labels_object_maps_records_with_different_custom_labels_each_on_its_own() -> None:
    labels = Labels.parse("Personalnummer, Personnel number", "Familienstand", "Probonio Filter")
    german = employee(Personalnummer="1", Familienstand="verheiratet")
    english = employee(**{"Personnel number": "2", "Probonio Filter": "yes"})
    bare = employee()
    for _ in range(2):
        assert mapped(german, labels).fields["personnel_number"] == "1"
        assert mapped(german, labels).fields["marital_status"] == "verheiratet"
        assert mapped(german, labels).opt_in is None
        assert mapped(english, labels).fields["personnel_number"] == "2"
        assert "marital_status" not in mapped(english, labels).fields
        assert mapped(english, labels).opt_in == "yes"
        assert "personnel_number" not in mapped(bare, labels).fields


def test_labels_compare_by_their_alternatives_only() -> None:
    labels = Labels.parse("Personalnummer", "Familienstand", "Probonio Filter")
    mapped(employee(Personalnummer="1"), labels)
    assert labels == Labels.parse("Personalnummer", "Familienstand", "Probonio Filter")
    assert hash(labels) == hash(Labels.parse("Personalnummer", "Familienstand", "Probonio Filter"))


def test_an_address_maps_the_same_when_its_domain_was_seen_before() -> None:
    """Domains are checked once and remembered: the second pass answers from memory."""
    labels = Labels.parse("", "", "")
    first = [to_remote(employee(address), labels) for address in ADDRESSES]
    again = [to_remote(employee(address), labels) for address in reversed(ADDRESSES)]

    assert again == list(reversed(first))
