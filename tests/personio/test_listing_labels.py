"""Records on every page of a concurrent listing get the attributes endpoint's labels."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from benefitsync.integrations.personio.client import Credentials, PersonioClient, clear_token_cache
from benefitsync.integrations.personio.ratelimit import RateLimiter, Window
from benefitsync.integrations.personio.schemas import PersonioEmployee

IDS = list(range(1, 351))  # four pages


@pytest.fixture(autouse=True)
def _fresh_tokens() -> Iterator[None]:
    clear_token_cache()
    yield
    clear_token_cache()


def personio(attributes_status: int) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v1/auth":
            return httpx.Response(200, json={"success": True, "data": {"token": "papi-t"}})
        if request.url.path == "/v1/company/employees/attributes":
            if attributes_status != 200:
                return httpx.Response(attributes_status, json={"success": False})
            attribute = {"key": "dynamic_1", "label": "Personalnummer", "type": "integer"}
            return httpx.Response(200, json={"success": True, "data": [attribute]})
        offset = int(request.url.params["offset"])
        items: list[dict[str, Any]] = [
            {
                "type": "Employee",
                "attributes": {
                    "id": {"label": "ID", "value": pid, "type": "integer"},
                    # Personio left the label out: it comes from the attributes endpoint.
                    "dynamic_1": {"label": "", "value": 1000 + pid, "type": "integer"},
                },
            }
            for pid in IDS[offset : offset + 100]
        ]
        meta = {"total_elements": len(IDS)}
        return httpx.Response(200, json={"success": True, "metadata": meta, "data": items})

    return httpx.MockTransport(handler)


def listing(attributes_status: int) -> list[PersonioEmployee]:
    with PersonioClient(
        Credentials("cid", "secret"),
        base_url="https://api.personio.test",
        transport=personio(attributes_status),
        limiter=RateLimiter([Window(10_000, 1.0)]),
        retry_wait_scale=0.0,
        max_concurrency=3,
    ) as client:
        records = list(client.iter_employees())
    assert all(isinstance(r, PersonioEmployee) for r in records)
    return [r for r in records if isinstance(r, PersonioEmployee)]


def test_labels_from_the_attributes_endpoint_reach_records_on_every_page() -> None:
    records = listing(200)
    assert [r.id for r in records] == IDS
    assert all(r.custom == {"Personalnummer": str(1000 + r.id)} for r in records)


def test_without_the_attributes_endpoint_records_on_every_page_keep_their_keys() -> None:
    records = listing(403)
    assert [r.id for r in records] == IDS
    assert all(r.custom == {"dynamic_1": str(1000 + r.id)} for r in records)
