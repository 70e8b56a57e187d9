"""The typed page decoder gives exactly what the tolerant generic parser gives, and falls back to it
for pages outside Personio's documented shape."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from benefitsync.integrations.personio.decode import InvalidJSON, decode_page
from benefitsync.integrations.personio.errors import BadRecord
from benefitsync.integrations.personio.sandbox import SandboxHandle
from benefitsync.integrations.personio.schemas import PersonioEmployee, parse_employee


def pages_of(sandbox: SandboxHandle) -> list[bytes]:
    with httpx.Client(base_url=sandbox.base_url) as http:
        auth = {"client_id": sandbox.client_id, "client_secret": sandbox.client_secret}
        token = http.post("/v1/auth", json=auth).json()["data"]["token"]
        return [
            http.get(
                "/v1/company/employees",
                params={"limit": 100, "offset": offset},
                headers={"Authorization": f"Bearer {token}"},
            ).content
            for offset in range(0, 250, 100)
        ]


@pytest.mark.parametrize("malformed_share", [0.0, 0.2])
def test_typed_decoding_gives_the_records_the_generic_parser_gives(
    sandbox: SandboxHandle, malformed_share: float
) -> None:
    sandbox.set_faults(malformed_share=malformed_share)
    labels = {"dynamic_4187001": "Personalnummer"}
    for body in pages_of(sandbox):
        page = decode_page(body, labels)
        raw = json.loads(body)
        assert page.records == [parse_employee(item, labels) for item in raw["data"]]
        assert page.total_elements == 250 and page.size == len(raw["data"])
        assert page.first_id == raw["data"][0]["attributes"]["id"]["value"]
        assert page.last_id == raw["data"][-1]["attributes"]["id"]["value"]


def envelope(*items: Any) -> bytes:
    return json.dumps(
        {"success": True, "metadata": {"total_elements": len(items)}, "data": list(items)}
    ).encode()


def item(pid: Any, **attrs: Any) -> dict[str, Any]:
    return {"type": "Employee", "attributes": {"id": {"value": pid}, **attrs}}


def test_a_page_outside_the_documented_shape_is_parsed_record_by_record() -> None:
    page = decode_page(
        envelope(
            item(1, first_name={"value": "Anna", "label": "First name"}),
            "not an employee",
            item(3, first_name="Bare value"),  # a bare attribute value, tolerated
        ),
        {},
    )
    first, bad, third = page.records
    assert isinstance(first, PersonioEmployee) and first.first_name == "Anna"
    assert isinstance(bad, BadRecord) and bad.personio_id is None
    assert isinstance(third, PersonioEmployee) and third.first_name == "Bare value"
    assert (page.size, page.first_id, page.last_id) == (3, 1, 3)


def test_a_malformed_value_costs_only_its_record() -> None:
    page = decode_page(envelope(item(1), item(2, hire_date={"value": "31.02.2020"}), item(3)), {})
    assert [type(r).__name__ for r in page.records] == [
        "PersonioEmployee",
        "BadRecord",
        "PersonioEmployee",
    ]


def test_a_body_that_is_not_json_is_invalid_and_one_without_data_is_refused() -> None:
    with pytest.raises(InvalidJSON):
        decode_page(b'{"success": tr', {})
    with pytest.raises(ValueError, match="data list"):
        decode_page(b'{"success": true}', {})


@pytest.mark.parametrize(
    "attrs",
    [
        {"subcompany": {"value": "Plain Name GmbH"}},
        {"subcompany": {"value": {"type": "Subcompany", "attributes": {"id": 1, "name": " N "}}}},
        {"subcompany": {"value": {"name": "Without attributes"}}},
        {"subcompany": {"value": []}},
        {"last_modified_at": {"value": "2026-03-29T02:30:00"}},  # naive: Berlin time
        {"last_modified_at": {"value": "2026-03-29T01:30:00Z"}},
        {"last_modified_at": {"value": " 2026-03-29T01:30:00+01:00 "}},
        {"last_modified_at": {"value": "2026-03-29"}},
        {"last_modified_at": {"value": "29.03.2026"}},
        {"status": {"value": " Active "}, "email": {"value": 42}},
    ],
)
def test_the_typed_fast_paths_agree_with_the_generic_parser_on_odd_values(
    attrs: dict[str, Any],
) -> None:
    body = envelope(item(7, **attrs))
    (typed,) = decode_page(body, {}).records
    assert typed == parse_employee(json.loads(body)["data"][0], {})
