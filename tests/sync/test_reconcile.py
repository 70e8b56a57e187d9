"""Table tests of the pure reconcile core: every rule of SPEC §3-5, no database."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from benefitsync.employees.models import Employee
from benefitsync.integrations.personio import reconcile as rc
from benefitsync.lib.months import Month

TODAY = dt.date(2026, 11, 24)
NOV, DEC, OCT = Month(2026, 11), Month(2026, 12), Month(2026, 10)


def remote(pid: int, opt_in: str | None = None, **fields: Any) -> rc.RemoteEmployee:
    base: dict[str, Any] = {
        "first_name": f"First{pid}",
        "last_name": f"Last{pid}",
        "email": f"p{pid}@nordlicht.de",
        "leaving_date": None,
    }
    base.update(fields)
    return rc.RemoteEmployee(pid, base, opt_in)


def local(
    eid: int,
    pid: int | None,
    status: str = rc.ACTIVE,
    lwm: Month | None = None,
    missing: bool = False,
    **fields: Any,
) -> rc.LocalEmployee:
    base: dict[str, Any] = {
        "first_name": f"First{pid}",
        "last_name": f"Last{pid}",
        "email": f"p{pid}@nordlicht.de",
        "leaving_date": None,
    }
    base.update(fields)
    return rc.LocalEmployee(eid, pid, status, lwm, missing, base)


def kinds(plan: rc.Plan) -> list[str]:
    return [type(a).__name__ for a in plan.actions]


def run(
    remotes: list[rc.RemoteEmployee], locals_: list[rc.LocalEmployee], **policy: Any
) -> rc.Plan:
    return rc.reconcile(remotes, locals_, rc.Policy(**policy), TODAY)


def test_every_synced_field_is_a_field_of_the_employee_model() -> None:
    names = {f.name for f in Employee._meta.get_fields()}
    assert set(rc.SYNCED_FIELDS) <= names


def test_new_hire_is_created() -> None:
    plan = run([remote(1)], [])
    assert kinds(plan) == ["Create"]
    assert plan.counts()["created"] == 1


def test_unchanged_employee_produces_no_action() -> None:
    plan = run([remote(1)], [local(10, 1)])
    assert plan.actions == []
    assert plan.unchanged == 1


def test_edit_becomes_an_update_with_old_and_new_value() -> None:
    plan = run([remote(1, last_name="Neu")], [local(10, 1)])
    (update,) = plan.actions
    assert isinstance(update, rc.Update)
    assert update.changes == {"last_name": ("Last1", "Neu")}


def test_attribute_not_delivered_is_not_blanked() -> None:
    r = rc.RemoteEmployee(1, {"first_name": "First1", "last_name": "Last1"})
    plan = run([r], [local(10, 1, gender="female", email="p1@nordlicht.de")])
    assert plan.actions == []


def test_hand_made_employee_is_linked_by_email_case_insensitively() -> None:
    plan = run([remote(1, email="  P1@Nordlicht.DE ")], [local(10, None, email="p1@nordlicht.de")])
    (update,) = plan.actions
    assert isinstance(update, rc.Update) and update.link and update.employee_id == 10


def test_reconnecting_a_new_account_relinks_by_email_instead_of_duplicating() -> None:
    plan = run([remote(501, email="p1@nordlicht.de")], [local(10, 1)])
    assert kinds(plan) == ["Update"]
    assert plan.actions[0].link  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("leaving", "expected_month"),
    [
        (dt.date(2026, 11, 30), NOV),  # this month
        (dt.date(2027, 1, 15), Month(2027, 1)),  # a future month
        (dt.date(2026, 9, 30), NOV),  # a past month: never retroactive, this month
    ],
)
def test_leaving_date_makes_an_active_employee_leaving_planned(
    leaving: dt.date, expected_month: Month
) -> None:
    plan = run([remote(1, leaving_date=leaving)], [local(10, 1)])
    mark = plan.of(rc.MarkLeaving)
    assert [m.last_working_month for m in mark] == [expected_month]
    assert plan.of(rc.Update)[0].changes == {"leaving_date": (None, leaving)}


def test_moved_leaving_date_moves_the_last_working_month() -> None:
    plan = run(
        [remote(1, leaving_date=dt.date(2027, 2, 28))],
        [local(10, 1, rc.LEAVING, DEC, leaving_date=dt.date(2026, 12, 31))],
    )
    (move,) = plan.of(rc.MoveLeaving)
    assert (move.old_month, move.last_working_month) == (DEC, Month(2027, 2))


def test_leaving_date_moved_into_the_past_stops_at_this_month() -> None:
    plan = run(
        [remote(1, leaving_date=dt.date(2026, 8, 31))],
        [local(10, 1, rc.LEAVING, DEC, leaving_date=dt.date(2026, 12, 31))],
    )
    assert plan.of(rc.MoveLeaving)[0].last_working_month == NOV


def test_removed_leaving_date_undoes_leaving() -> None:
    plan = run([remote(1)], [local(10, 1, rc.LEAVING, DEC, leaving_date=dt.date(2026, 12, 31))])
    assert kinds(plan) == ["Update", "UndoLeaving"]


def test_left_is_final_for_the_sync() -> None:
    plan = run([remote(1)], [local(10, 1, rc.LEFT, OCT, leaving_date=dt.date(2026, 10, 31))])
    assert plan.of(rc.UndoLeaving) == [] and plan.of(rc.MarkLeaving) == []


def test_new_hire_with_future_leaving_date_is_created_leaving_planned() -> None:
    (create,) = run([remote(1, leaving_date=dt.date(2026, 12, 15))], []).of(rc.Create)
    assert (create.status, create.last_working_month) == (rc.LEAVING, DEC)


def test_person_who_left_before_the_first_sync_is_not_created() -> None:
    plan = run([remote(1, leaving_date=dt.date(2025, 3, 31))], [])
    assert kinds(plan) == ["Skip"]
    assert not plan.actions[0].error  # type: ignore[union-attr]


def test_employee_no_longer_delivered_is_flagged_never_deleted() -> None:
    plan = run([], [local(10, 1)])
    (flag,) = plan.actions
    assert isinstance(flag, rc.FlagMissing) and flag.counts_as_leaver


def test_flagged_employee_delivered_again_is_unflagged() -> None:
    assert kinds(run([remote(1)], [local(10, 1, missing=True)])) == ["Unflag"]


def test_hand_made_employee_not_in_personio_is_left_alone() -> None:
    assert run([], [local(10, None, email="x@nordlicht.de")]).actions == []


def test_bad_record_is_skipped_and_its_employee_not_flagged_missing() -> None:
    bad = rc.Skip(1, "invalid_email")
    plan = rc.reconcile([], [local(10, 1)], rc.Policy(), TODAY, bad_records=[bad])
    assert plan.actions == [bad]
    assert plan.counts()["errors"] == 1


@pytest.mark.parametrize(
    ("company_filter", "employee", "inside"),
    [
        (rc.CompanyFilter.of(email_domains=["nordlicht.de"]), remote(1), True),
        (rc.CompanyFilter.of(email_domains=["@Nordlicht.de "]), remote(1), True),
        (rc.CompanyFilter.of(email_domains=["suedwind.de"]), remote(1), False),
        (
            rc.CompanyFilter.of(company_names=["Nordlicht GmbH"]),
            remote(1, personio_company_name="Nordlicht GmbH "),
            True,
        ),
        (
            rc.CompanyFilter.of(company_names=["Nordlicht GmbH"]),
            remote(1, personio_company_name="Nordlicht Services GmbH"),
            False,
        ),
        (rc.CompanyFilter.of(opt_in_required=True), remote(1, opt_in=" JA "), True),
        (rc.CompanyFilter.of(opt_in_required=True), remote(1, opt_in="Yes"), True),
        (rc.CompanyFilter.of(opt_in_required=True), remote(1, opt_in="TRUE"), True),
        (rc.CompanyFilter.of(opt_in_required=True), remote(1, opt_in="nein"), False),
        (rc.CompanyFilter.of(opt_in_required=True), remote(1, opt_in=None), False),
        (
            rc.CompanyFilter.of(email_domains=["nordlicht.de"], opt_in_required=True),
            remote(1, opt_in="nein"),
            False,
        ),
    ],
)
def test_company_filter_takes_only_employees_matching_every_criterion(
    company_filter: rc.CompanyFilter, employee: rc.RemoteEmployee, inside: bool
) -> None:
    plan = run([employee], [], company_filter=company_filter)
    assert kinds(plan) == (["Create"] if inside else [])
    assert plan.filtered_out == (0 if inside else 1)


def test_employee_leaving_the_filter_is_flagged_not_deleted() -> None:
    plan = run(
        [remote(1, opt_in="nein")],
        [local(10, 1)],
        company_filter=rc.CompanyFilter.of(opt_in_required=True),
    )
    (flag,) = plan.actions
    assert isinstance(flag, rc.FlagMissing) and flag.reason == "filter_opt_in"


def test_auto_invite_invites_new_active_employees_with_email_only() -> None:
    plan = run(
        [remote(1), remote(2, email=""), remote(3, leaving_date=dt.date(2026, 12, 31))],
        [],
        auto_invite=True,
    )
    assert [i.personio_id for i in plan.of(rc.Invite)] == [1]
    assert [s.personio_id for s in plan.of(rc.Skip)] == [2]


def test_no_invitation_when_auto_invite_is_off() -> None:
    assert run([remote(1)], []).of(rc.Invite) == []


def test_one_email_on_two_personio_employees_creates_neither() -> None:
    plan = run([remote(1, email="same@nordlicht.de"), remote(2, email="same@nordlicht.de")], [])
    assert kinds(plan) == ["Skip", "Skip"]


def test_new_hire_with_an_email_of_another_linked_portal_employee_is_skipped() -> None:
    plan = run(
        [remote(1, email="new@nordlicht.de"), remote(2, email="P1@nordlicht.de")], [local(10, 1)]
    )
    assert kinds(plan) == ["Update", "Skip"]
    skip = plan.actions[1]
    assert isinstance(skip, rc.Skip) and skip.personio_id == 2
    assert skip.code == "email_taken"


def test_duplicate_personio_id_in_one_listing_is_skipped() -> None:
    plan = run([remote(1), remote(1)], [])
    assert sorted(kinds(plan)) == ["Create", "Skip"]


# --- the hold guard -------------------------------------------------------------------------------


def test_run_is_held_when_a_needed_attribute_vanishes() -> None:
    plan = run([remote(1)], [local(10, 1)])
    reasons = rc.hold_reasons(
        plan.tally(),
        active_count=1,
        previous_attributes=frozenset({"email", "first_name", "last_name", "termination_date"}),
        delivered_attributes=frozenset({"email", "first_name", "last_name"}),
    )
    assert reasons and "termination_date" in reasons[0].params["attributes"]


def test_run_is_held_when_personio_returns_nobody_but_the_company_has_active_employees() -> None:
    plan = run([], [local(10, 1)])
    reasons = rc.hold_reasons(
        plan.tally(), active_count=1, previous_attributes=None, delivered_attributes=frozenset()
    )
    assert [r.code for r in reasons] == ["empty_listing"]


@pytest.mark.parametrize(
    ("active", "leavers", "held"),
    [(100, 19, False), (100, 20, True), (10, 4, False), (10, 5, True), (4, 4, False)],
)
def test_mass_leaving_is_held_from_20_percent_and_at_least_5(
    active: int, leavers: int, held: bool
) -> None:
    remotes = [remote(i, leaving_date=dt.date(2026, 12, 31)) for i in range(leavers)]
    remotes += [remote(i) for i in range(leavers, active)]
    locals_ = [local(100 + i, i) for i in range(active)]
    plan = run(remotes, locals_)
    reasons = rc.hold_reasons(
        plan.tally(),
        active_count=active,
        previous_attributes=None,
        delivered_attributes=frozenset({"email"}),
    )
    assert bool(reasons) is held
