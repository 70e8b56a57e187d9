"""`fast_insert`, the bulk path of a first sync: rows read back as the ORM would store them."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import transaction

from benefitsync.companies.models import Company
from benefitsync.integrations.personio.models import SyncEvent, SyncRun
from benefitsync.lib.db import fast_insert


@pytest.fixture
def run(company_a: Company) -> SyncRun:
    return SyncRun.objects.create(company=company_a, trigger="manual")


def event(run: SyncRun, **fields: object) -> dict[str, object]:
    return {"run_id": run.pk, "company_id": run.company_id, "action": "create", **fields}


def test_json_values_read_back_equal_to_what_was_inserted(run: SyncRun) -> None:
    changes = {
        "first_name": [None, "Zoë ✓"],
        "hire_date": [None, "2024-02-01"],
        "nested": {"numbers": [1, 2.5, -3], "flags": [True, False, None]},
        "empty": {},
    }
    assert fast_insert(SyncEvent, [event(run, changes=changes, personio_id=7)]) == 1

    stored = SyncEvent.objects.get(run=run)
    assert stored.changes == changes
    assert stored.personio_id == 7


def test_missing_fields_take_their_defaults(run: SyncRun) -> None:
    fast_insert(SyncEvent, [event(run)])

    stored = SyncEvent.objects.get(run=run)
    assert (stored.changes, stored.message, stored.error, stored.employee_id) == (
        {},
        "",
        False,
        None,
    )


def test_a_date_in_a_json_value_is_stored_as_its_iso_text(run: SyncRun) -> None:
    fast_insert(SyncEvent, [event(run, changes={"hire_date": [None, dt.date(2024, 2, 1)]})])

    assert SyncEvent.objects.get(run=run).changes == {"hire_date": [None, "2024-02-01"]}


def test_a_json_value_neither_encoder_takes_is_refused_and_nothing_is_written(run: SyncRun) -> None:
    with pytest.raises(TypeError), transaction.atomic():
        fast_insert(SyncEvent, [event(run, changes={"amount": Decimal("1.50")})])

    assert not SyncEvent.objects.filter(run=run).exists()


def test_many_rows_are_written_in_batches(run: SyncRun) -> None:
    rows = [event(run, personio_id=n, changes={"n": n}) for n in range(2_345)]

    assert fast_insert(SyncEvent, rows, batch_size=1_000) == 2_345
    stored = dict(SyncEvent.objects.filter(run=run).values_list("personio_id", "changes"))
    assert len(stored) == 2_345
    assert stored[2_344] == {"n": 2_344}
