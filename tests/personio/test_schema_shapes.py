"""Records of different shapes (attribute keys, custom labels) parsed one after another."""

from __future__ import annotations

from typing import Any

from benefitsync.integrations.personio.schemas import PersonioEmployee, parse_employee


def parse(labels: dict[str, str] | None = None, **attrs: Any) -> PersonioEmployee:
    item = {
        "type": "Employee",
        "attributes": {"id": {"label": "ID", "value": 1, "type": "integer"}, **attrs},
    }
    parsed = parse_employee(item, labels)
    assert isinstance(parsed, PersonioEmployee), parsed
    return parsed


def custom(label: str | None, value: Any) -> dict[str, Any]:
    return {"label": label, "value": value, "type": "standard"}


def test_records_with_the_same_keys_but_other_labels_keep_their_own_labels() -> None:
    for _ in range(2):
        a = parse(dynamic_1=custom("Personalnummer", "1"))
        b = parse(dynamic_1=custom("Personnel number", "2"))
        c = parse({"dynamic_1": "From the endpoint"}, dynamic_1=custom(None, "3"))
        assert a.custom == {"Personalnummer": "1"}
        assert a.present == frozenset({"id", "Personalnummer"})
        assert b.custom == {"Personnel number": "2"}
        assert b.present == frozenset({"id", "Personnel number"})
        assert c.custom == {"From the endpoint": "3"}
        assert c.present == frozenset({"id", "From the endpoint"})


def test_records_with_other_keys_keep_their_own_present_set() -> None:
    for _ in range(2):
        full = parse(email=custom("Email", "a@b.de"), dynamic_1=custom("X", "1"))
        bare = parse()
        twice = parse(dynamic_1=custom("X", "1"), dynamic_2=custom("X", "2"))
        assert full.present == frozenset({"id", "email", "X"})
        assert bare.present == frozenset({"id"}) and bare.custom == {}
        assert twice.custom == {"X": "1", "X (dynamic_2)": "2"}
        assert twice.present == frozenset({"id", "X", "X (dynamic_2)"})
