"""Hypothesis properties of reconcile(): idempotent, path-independent, never deletes, and each
plan only names employees of the company it was given."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from benefitsync.employees import rules
from benefitsync.integrations.personio import reconcile as rc
from tests.sync.reference import reference_reconcile

TODAY = dt.date(2026, 11, 24)

names = st.sampled_from(["Anna", "Ben", "Cem", "Dana", "Emil", "Frida"])
leaving_dates = st.one_of(
    st.none(),
    st.dates(min_value=dt.date(2026, 11, 1), max_value=dt.date(2027, 6, 30)),
)


@st.composite
def remote_employee(draw: Any, pid: int) -> rc.RemoteEmployee:
    return rc.RemoteEmployee(
        pid,
        {
            "first_name": draw(names),
            "last_name": draw(names),
            "email": f"p{pid}@nordlicht.de",
            "leaving_date": draw(leaving_dates),
        },
    )


@st.composite
def personio_states(draw: Any, ids: list[int]) -> list[rc.RemoteEmployee]:
    return [draw(remote_employee(pid)) for pid in ids]


def apply_in_memory(local: list[rc.LocalEmployee], plan: rc.Plan) -> list[rc.LocalEmployee]:
    """A model of sync.apply over plain values, to state properties without a database."""
    by_id = {e.id: e for e in local}
    next_id = max(by_id, default=0) + 1
    for a in plan.actions:
        if isinstance(a, rc.Create):
            by_id[next_id] = rc.LocalEmployee(
                next_id, a.personio_id, a.status, a.last_working_month, False, dict(a.fields)
            )
            next_id += 1
        elif isinstance(a, rc.Update):
            e = by_id[a.employee_id]
            fields = dict(e.fields) | {k: new for k, (_old, new) in a.changes.items()}
            by_id[e.id] = dataclasses.replace(
                e, fields=fields, personio_id=a.personio_id if a.link else e.personio_id
            )
        elif isinstance(a, rc.MarkLeaving | rc.MoveLeaving):
            by_id[a.employee_id] = dataclasses.replace(
                by_id[a.employee_id], status=rules.LEAVING, last_working_month=a.last_working_month
            )
        elif isinstance(a, rc.UndoLeaving):
            by_id[a.employee_id] = dataclasses.replace(
                by_id[a.employee_id], status=rules.ACTIVE, last_working_month=None
            )
        elif isinstance(a, rc.FlagMissing):
            by_id[a.employee_id] = dataclasses.replace(by_id[a.employee_id], missing=True)
        elif isinstance(a, rc.Unflag):
            by_id[a.employee_id] = dataclasses.replace(by_id[a.employee_id], missing=False)
    return list(by_id.values())


def portable(local: list[rc.LocalEmployee]) -> set[tuple[Any, ...]]:
    """The state without portal ids (which depend on creation order)."""
    return {
        (e.personio_id, e.status, e.last_working_month, e.missing, tuple(sorted(e.fields.items())))
        for e in local
    }


IDS = list(range(1, 7))


@settings(max_examples=150, deadline=None)
@given(state=personio_states(IDS))
def test_a_second_sync_of_the_same_data_changes_nothing(state: list[rc.RemoteEmployee]) -> None:
    once = apply_in_memory([], rc.reconcile(state, [], rc.Policy(), TODAY))
    again = rc.reconcile(state, once, rc.Policy(), TODAY)
    assert again.is_empty
    assert again.unchanged == len(once)


@settings(max_examples=150, deadline=None)
@given(steps=st.lists(personio_states(IDS), min_size=1, max_size=4))
def test_syncing_every_edit_ends_where_one_sync_of_the_final_data_ends(
    steps: list[list[rc.RemoteEmployee]],
) -> None:
    stepwise: list[rc.LocalEmployee] = []
    for state in steps:
        stepwise = apply_in_memory(stepwise, rc.reconcile(state, stepwise, rc.Policy(), TODAY))
    one_shot = apply_in_memory([], rc.reconcile(steps[-1], [], rc.Policy(), TODAY))
    assert portable(stepwise) == portable(one_shot)


@settings(max_examples=150, deadline=None)
@given(
    first=personio_states(IDS),
    keep=st.lists(st.sampled_from(IDS), unique=True),
)
def test_no_sync_ever_deletes_an_employee_and_plans_name_only_given_employees(
    first: list[rc.RemoteEmployee], keep: list[int]
) -> None:
    local = apply_in_memory([], rc.reconcile(first, [], rc.Policy(), TODAY))
    later = [r for r in first if r.personio_id in keep]
    plan = rc.reconcile(later, local, rc.Policy(), TODAY)
    after = apply_in_memory(local, plan)
    assert {e.id for e in local} <= {e.id for e in after}
    named = {getattr(a, "employee_id", None) for a in plan.actions} - {None}
    assert named <= {e.id for e in local}
    gone = {e.id for e in local if e.personio_id not in keep}
    assert {e.id for e in after if e.missing} == gone


# --- a sync reconciles in chunks: it must decide exactly what the sequential original decided ---

emails = st.sampled_from(["a@nordlicht.de", "b@nordlicht.de", "c@other.de", "", "A@Nordlicht.de "])


@st.composite
def messy_listing(draw: Any) -> tuple[list[rc.RemoteEmployee], list[rc.Skip]]:
    """Records with repeated IDs, shared e-mails and unreadable ones, in any order."""
    remote = [
        rc.RemoteEmployee(
            draw(st.integers(1, 8)),
            {
                "first_name": draw(names),
                "last_name": "X",
                "email": draw(emails),
                "leaving_date": draw(leaving_dates),
            },
            draw(st.sampled_from([None, "yes", "no"])),
        )
        for _ in range(draw(st.integers(0, 10)))
    ]
    bad = [rc.Skip(draw(st.one_of(st.none(), st.integers(1, 8))), "unreadable")] * draw(
        st.integers(0, 2)
    )
    return remote, bad


@st.composite
def messy_portal(draw: Any) -> list[rc.LocalEmployee]:
    """Portal employees: linked (one Personio ID each, as the database's unique constraint
    demands) or hand-made, sharing e-mails, in every status."""
    count = draw(st.integers(0, 8))
    pids = draw(st.lists(st.integers(1, 10), min_size=count, max_size=count, unique=True))
    return [
        rc.LocalEmployee(
            eid,
            draw(st.one_of(st.none(), st.just(pids[eid - 1]))),
            draw(st.sampled_from([rules.ACTIVE, rules.LEAVING, rules.LEFT])),
            None,
            draw(st.booleans()),
            {"first_name": draw(names), "last_name": "X", "email": draw(emails)},
        )
        for eid in range(1, count + 1)
    ]


def chunked(
    remote: list[rc.RemoteEmployee],
    bad: list[rc.Skip],
    local: list[rc.LocalEmployee],
    policy: rc.Policy,
    size: int,
) -> tuple[list[rc.Action], rc.Tally]:
    """What sync.fetch + sync.plan_for do: chunks arrive (seeing only the portal employees with
    their Personio IDs), settle, the deferred records decided in chunks (seeing only what
    `wanted()` names), finish."""
    items: list[rc.RemoteEmployee | rc.Skip] = [*bad, *remote]
    reconciler = rc.Reconciler(policy, TODAY)
    actions: list[rc.Action] = []
    later: list[rc.RemoteEmployee] = []
    for start in range(0, len(items), size):
        chunk = items[start : start + size]
        pids = {r.personio_id for r in chunk}
        decided, deferred = reconciler.arrive(chunk, [e for e in local if e.personio_id in pids])
        actions += decided
        later += deferred
    reconciler.settle(local)
    for start in range(0, len(later), size):
        chunk_later = later[start : start + size]
        pids_, ids = reconciler.wanted(chunk_later)
        seen = [e for e in local if e.personio_id in pids_ or e.id in ids]
        actions += reconciler.decide(chunk_later, seen)
    actions += reconciler.finish()
    return actions, reconciler.tally


@settings(max_examples=300, deadline=None)
@given(
    listing=messy_listing(),
    local=messy_portal(),
    size=st.integers(1, 4),
    domains=st.sampled_from([(), ("nordlicht.de",)]),
    opt_in=st.booleans(),
    auto_invite=st.booleans(),
)
def test_a_sync_in_chunks_decides_exactly_what_the_sequential_reconcile_of_the_whole_listing_did(
    listing: tuple[list[rc.RemoteEmployee], list[rc.Skip]],
    local: list[rc.LocalEmployee],
    size: int,
    domains: tuple[str, ...],
    opt_in: bool,
    auto_invite: bool,
) -> None:
    remote, bad = listing
    policy = rc.Policy(rc.CompanyFilter.of(domains, (), opt_in), auto_invite)
    original = reference_reconcile(remote, local, policy, TODAY, bad_records=bad)
    actions, tally = chunked(remote, bad, local, policy, size)
    assert sorted(map(repr, actions)) == sorted(map(repr, original.actions))
    assert tally == original.tally()
    assert rc.reconcile(remote, local, policy, TODAY, bad_records=bad).tally() == tally
