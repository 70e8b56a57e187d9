"""The spill that keeps a sync's records and plan on disk: order, chunking, re-reading."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from benefitsync.integrations.personio import reconcile as rc
from benefitsync.lib.months import Month
from benefitsync.lib.spill import Spill


@pytest.mark.parametrize("keep", [0, 4, 100])
def test_items_come_back_in_order_in_chunks_and_can_be_read_again(keep: int) -> None:
    with Spill[int](chunk_size=3, keep=keep) as spill:
        spill.extend(range(8))
        assert len(spill) == 8
        assert list(spill.chunks()) == [[0, 1, 2], [3, 4, 5], [6, 7]]
        spill.append(8)
        assert list(spill) == list(range(9))
        assert spill.on_disk is (keep < 9)


def test_only_the_items_beyond_what_is_kept_in_memory_go_to_disk() -> None:
    with Spill[int](chunk_size=10, keep=20) as small:
        small.extend(range(20))
        list(small.chunks())
        assert not small.on_disk
    with Spill[int](chunk_size=10, keep=20) as large:
        large.extend(range(25))
        assert list(large) == list(range(25))
        assert large.on_disk


def test_every_record_and_action_of_a_plan_survives_the_spill_unchanged() -> None:
    items: list[object] = [
        rc.RemoteEmployee(1, {"email": "a@b.de", "hire_date": dt.date(2020, 2, 29)}, "ja"),
        rc.Create(1, {"email": "a@b.de"}, rc.LEAVING, Month(2026, 12)),
        rc.Update(5, 1, {"last_name": ("Alt", "Neu")}, link=True),
        rc.MarkLeaving(5, 1, Month(2026, 12)),
        rc.MoveLeaving(5, 1, None, Month(2027, 1)),
        rc.UndoLeaving(5, 1),
        rc.FlagMissing(5, None, "not delivered by Personio", counts_as_leaver=False),
        rc.Unflag(5, 1),
        rc.Skip(None, "unreadable", error=True),
        rc.Invite(1),
    ]
    with Spill[object](chunk_size=4, keep=0) as spill:
        spill.extend(items)
        back = list(spill)
    assert back == items
    assert [type(b) for b in back] == [type(i) for i in items]
    assert all(dataclasses.is_dataclass(b) for b in back)
