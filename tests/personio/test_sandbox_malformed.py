"""The sandbox's share of malformed records is explicit (none by default) and settable."""

from __future__ import annotations

from collections.abc import Callable

from benefitsync.integrations.personio.client import PersonioClient
from benefitsync.integrations.personio.errors import BadRecord
from benefitsync.integrations.personio.sandbox import SandboxHandle

EMPLOYEES = 250  # the sandbox's size in these tests (tests/personio/conftest.py)
ClientFactory = Callable[..., PersonioClient]


def bad_ids(make_client: ClientFactory) -> list[int | None]:
    client = make_client()
    return [r.personio_id for r in client.iter_employees() if isinstance(r, BadRecord)]


def test_the_generated_data_has_no_malformed_record_by_default(
    sandbox: SandboxHandle, make_client: ClientFactory
) -> None:
    assert sandbox.state.faults.malformed_share == 0.0
    assert bad_ids(make_client) == []


def test_the_malformed_share_is_served_as_bad_hire_dates_the_same_on_every_listing(
    sandbox: SandboxHandle, make_client: ClientFactory
) -> None:
    sandbox.set_faults(malformed_share=0.2)
    first = bad_ids(make_client)
    assert 0.1 * EMPLOYEES <= len(first) <= 0.3 * EMPLOYEES
    assert bad_ids(make_client) == first
    client = make_client()
    bad = next(r for r in client.iter_employees() if isinstance(r, BadRecord))
    assert "hire_date" in bad.reason and "31.02.2020" in bad.reason
