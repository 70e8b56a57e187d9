"""The pure core of the sync: what Personio says vs what the portal has → a plan of small actions.

`reconcile(remote, local, policy, today) -> Plan` does no I/O, reads no clock and touches no ORM, so
every rule of SPEC §3-5 is a table test. `sync.py` is the imperative shell around it: it fetches,
snapshots, reconciles, guards (the hold rules) and applies the plan in one transaction.

Rules, in the order they are decided for each employee:

1. Matching (SPEC §3): by Personio ID, then by e-mail (trimmed, case-insensitive) among portal
   employees that are not linked to a Personio ID Personio still delivers — so a hand-made
   employee is linked, not duplicated, and reconnecting (same or new credentials) re-links.
2. Company filter (SPEC §5): every configured criterion must match. Outside the filter, nobody is
   created; an employee already in the portal is flagged "no longer in Personio", never deleted.
3. Master data: only attributes Personio delivered are compared (an attribute taken off the
   whitelist is absent, not empty, and must not blank the portal's value). Unchanged → no action.
4. Leaving (SPEC §4): a leaving date in this or a future month → Leaving planned with that month
   as last working month; a past month → this month (never retroactive); a moved date moves the
   month (never into the past); a removed date → Active again. Left is final for the sync.
5. Missing: a portal employee linked to Personio that Personio no longer delivers is flagged.
6. Auto-invite: a newly created, active employee with an e-mail is invited once.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from benefitsync.employees import rules
from benefitsync.lib.months import Month

# Portal fields the sync maintains: exactly the Personio-managed fields of an employee.
SYNCED_FIELDS: tuple[str, ...] = rules.PERSONIO_FIELDS
OPT_IN_VALUES = frozenset({"yes", "true", "ja"})

ACTIVE, LEAVING, LEFT = rules.ACTIVE, rules.LEAVING, rules.LEFT


def email_key(email: str | None) -> str:
    """The form e-mails are compared in: trimmed and lower-case; '' when there is none."""
    return (email or "").strip().lower()


# --- inputs ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RemoteEmployee:
    """One employee as Personio delivered it, in portal terms (built by `mapping.py`).

    `fields` holds only the portal fields whose Personio attribute was delivered; a value of ""
    or None means "delivered and empty". `opt_in` is the opt-in attribute's value (None when not
    delivered or empty).
    """

    personio_id: int
    fields: Mapping[str, Any]
    opt_in: str | None = None

    @property
    def email(self) -> str:
        return email_key(self.fields.get("email"))

    @property
    def company_name(self) -> str:
        return str(self.fields.get("personio_company_name") or "").strip()


@dataclass(frozen=True, slots=True)
class LocalEmployee:
    """A snapshot of one portal employee, as `sync.py` reads it."""

    id: int
    personio_id: int | None
    status: str
    last_working_month: Month | None
    missing: bool
    fields: Mapping[str, Any]

    @property
    def email(self) -> str:
        return email_key(self.fields.get("email"))


@dataclass(frozen=True, slots=True)
class CompanyFilter:
    """Support's filter for a company (SPEC §5). Empty criteria are not applied."""

    email_domains: frozenset[str] = frozenset()
    company_names: frozenset[str] = frozenset()
    opt_in_required: bool = False

    @classmethod
    def of(
        cls,
        email_domains: Iterable[str] = (),
        company_names: Iterable[str] = (),
        opt_in_required: bool = False,
    ) -> CompanyFilter:
        return cls(
            frozenset(d.strip().lower().lstrip("@") for d in email_domains if d.strip()),
            frozenset(n.strip() for n in company_names if n.strip()),
            opt_in_required,
        )

    @property
    def is_empty(self) -> bool:
        return not (self.email_domains or self.company_names or self.opt_in_required)

    def rejects(self, remote: RemoteEmployee) -> str | None:
        """The reason `remote` is outside this company, or None when it belongs here."""
        if self.email_domains:
            domain = remote.email.rpartition("@")[2]
            if domain not in self.email_domains:
                return "e-mail domain not in the company filter"
        if self.company_names and remote.company_name not in self.company_names:
            return "Personio company not in the company filter"
        if self.opt_in_required and (remote.opt_in or "").strip().lower() not in OPT_IN_VALUES:
            return "opt-in attribute is not yes/true/ja"
        return None


@dataclass(frozen=True, slots=True)
class Policy:
    company_filter: CompanyFilter = CompanyFilter()
    auto_invite: bool = False


# --- the plan -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Create:
    personio_id: int
    fields: Mapping[str, Any]
    status: str = ACTIVE
    last_working_month: Month | None = None


@dataclass(frozen=True, slots=True)
class Update:
    employee_id: int
    personio_id: int
    changes: Mapping[str, tuple[Any, Any]]  # field -> (old, new)
    link: bool = False  # True: a hand-made employee (or one of an old account) gets this ID


@dataclass(frozen=True, slots=True)
class MarkLeaving:
    employee_id: int
    personio_id: int
    last_working_month: Month


@dataclass(frozen=True, slots=True)
class MoveLeaving:
    employee_id: int
    personio_id: int
    old_month: Month | None
    last_working_month: Month


@dataclass(frozen=True, slots=True)
class UndoLeaving:
    employee_id: int
    personio_id: int


@dataclass(frozen=True, slots=True)
class FlagMissing:
    employee_id: int
    personio_id: int | None
    reason: str
    counts_as_leaver: bool  # the employee is active or leaving: weighs in the mass-change hold


@dataclass(frozen=True, slots=True)
class Unflag:
    employee_id: int
    personio_id: int


@dataclass(frozen=True, slots=True)
class Skip:
    personio_id: int | None
    reason: str
    error: bool = True  # False: an expected skip (e.g. left before the first sync), not an error


@dataclass(frozen=True, slots=True)
class Invite:
    personio_id: int


Action = (
    Create | Update | MarkLeaving | MoveLeaving | UndoLeaving | FlagMissing | Unflag | Skip | Invite
)


@dataclass(slots=True)
class Plan:
    actions: list[Action] = field(default_factory=list)
    unchanged: int = 0
    filtered_out: int = 0
    remote_total: int = 0

    def of(self, kind: type[Any]) -> list[Any]:
        return [a for a in self.actions if isinstance(a, kind)]

    def counts(self) -> dict[str, int]:
        by_kind = Counter(type(a).__name__ for a in self.actions)
        skips = self.of(Skip)
        return {
            "created": by_kind["Create"],
            "updated": len({a.employee_id for a in self.of(Update)}),
            "leaving": by_kind["MarkLeaving"] + by_kind["MoveLeaving"],
            "undone_leaving": by_kind["UndoLeaving"],
            "flagged_missing": by_kind["FlagMissing"],
            "unflagged": by_kind["Unflag"],
            "skipped": len(skips),
            "errors": sum(1 for s in skips if s.error),
            "invited": by_kind["Invite"],
            "unchanged": self.unchanged,
            "filtered_out": self.filtered_out,
            "remote_total": self.remote_total,
        }

    @property
    def is_empty(self) -> bool:
        return not any(not isinstance(a, Skip) for a in self.actions)


# --- reconcile ------------------------------------------------------------------------------------


def _changes(remote: RemoteEmployee, local: LocalEmployee) -> dict[str, tuple[Any, Any]]:
    changes: dict[str, tuple[Any, Any]] = {}
    for name, new in remote.fields.items():
        if name == "leaving_date":
            continue  # decided by the leaving rules below, applied with them
        old = local.fields.get(name)
        if old == new:  # the common case, decided without normalising
            continue
        if _norm(old) != _norm(new):
            changes[name] = (old, new)
    return changes


def _norm(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    return value


def _leaving_actions(
    remote: RemoteEmployee, local: LocalEmployee, today: dt.date
) -> tuple[list[Action], tuple[Any, Any] | None]:
    """The leaving actions for a matched employee and the leaving_date change to record."""
    if "leaving_date" not in remote.fields or local.status == LEFT:
        return [], None  # not delivered: the whitelist hides it; Left is final for the sync
    new_date: dt.date | None = remote.fields["leaving_date"]
    old_date = local.fields.get("leaving_date")
    date_change = None if old_date == new_date else (old_date, new_date)
    pid = remote.personio_id
    if new_date is None:
        if local.status == LEAVING:
            return [UndoLeaving(local.id, pid)], date_change
        return [], date_change
    month = rules.last_working_month(new_date, today)
    if local.status == ACTIVE:
        return [MarkLeaving(local.id, pid, month)], date_change
    if local.last_working_month != month:
        return [MoveLeaving(local.id, pid, local.last_working_month, month)], date_change
    return [], date_change


def _lifecycle_for_new(remote: RemoteEmployee, today: dt.date) -> tuple[str, Month | None] | None:
    """Status of a new hire; None when Personio says they left in a past month (not created)."""
    leaving: dt.date | None = remote.fields.get("leaving_date")
    if leaving is None:
        return ACTIVE, None
    if Month.of(leaving) < Month.of(today):
        return None
    return LEAVING, rules.last_working_month(leaving, today)


def _shared_emails(remote: Sequence[RemoteEmployee]) -> set[str]:
    seen = Counter(r.email for r in remote if r.email)
    return {email for email, n in seen.items() if n > 1}


def reconcile(
    remote: Sequence[RemoteEmployee],
    local: Sequence[LocalEmployee],
    policy: Policy,
    today: dt.date,
    *,
    bad_records: Sequence[Skip] = (),
) -> Plan:
    """Decide what the portal must change so that it agrees with Personio.

    `today` is the company's local date. `bad_records` are records the parser could not read;
    they are carried into the plan as skips, and their Personio IDs are never flagged missing.
    """
    plan = Plan(actions=list(bad_records), remote_total=len(remote) + len(bad_records))
    unreadable_ids = {s.personio_id for s in bad_records if s.personio_id is not None}
    by_pid = {e.personio_id: e for e in local if e.personio_id is not None}
    remote_ids = {r.personio_id for r in remote} | unreadable_ids
    # Candidates for an e-mail match: not linked, or linked to an ID Personio no longer has.
    by_email = {
        e.email: e
        for e in local
        if e.email and (e.personio_id is None or e.personio_id not in remote_ids)
    }
    unique: list[RemoteEmployee] = []
    seen_remote: set[int] = set()
    for r in remote:
        if r.personio_id in seen_remote:
            plan.actions.append(Skip(r.personio_id, "delivered twice by Personio"))
        else:
            seen_remote.add(r.personio_id)
            unique.append(r)
    shared = _shared_emails(unique)
    taken_emails = {e.email: e.id for e in local if e.email}
    seen_local: set[int] = set()

    for r in unique:
        match = by_pid.get(r.personio_id)
        link = False
        if match is None and r.email:
            candidate = by_email.get(r.email)
            if candidate is not None and candidate.id not in seen_local:
                match, link = candidate, True
        outside = policy.company_filter.rejects(r)

        if match is None:
            if outside:
                plan.filtered_out += 1
                continue
            if r.email in shared:
                plan.actions.append(
                    Skip(r.personio_id, "e-mail address is used by several Personio employees")
                )
                continue
            if r.email and r.email in taken_emails:
                plan.actions.append(
                    Skip(r.personio_id, "e-mail address belongs to another portal employee")
                )
                continue
            lifecycle = _lifecycle_for_new(r, today)
            if lifecycle is None:
                plan.actions.append(
                    Skip(r.personio_id, "left before being synchronized", error=False)
                )
                continue
            status, month = lifecycle
            plan.actions.append(Create(r.personio_id, r.fields, status, month))
            if r.email:
                taken_emails[r.email] = -r.personio_id
            if policy.auto_invite:
                if not r.email:
                    plan.actions.append(
                        Skip(r.personio_id, "no e-mail address: not invited", error=False)
                    )
                elif status == ACTIVE:
                    plan.actions.append(Invite(r.personio_id))
            continue

        seen_local.add(match.id)
        if outside:
            if not match.missing:
                plan.actions.append(
                    FlagMissing(match.id, match.personio_id, outside, match.status != LEFT)
                )
            else:
                plan.unchanged += 1
            continue

        changes = _changes(r, match)
        if "email" in changes and r.email:
            owner = taken_emails.get(r.email)
            if r.email in shared or (owner is not None and owner != match.id):
                del changes["email"]
                plan.actions.append(
                    Skip(r.personio_id, "new e-mail address belongs to another employee")
                )
        leaving, date_change = _leaving_actions(r, match, today)
        if date_change is not None:
            changes["leaving_date"] = date_change
        acted = False
        if changes or link:
            plan.actions.append(Update(match.id, r.personio_id, changes, link))
            acted = True
        if leaving:
            plan.actions.extend(leaving)
            acted = True
        if match.missing:
            plan.actions.append(Unflag(match.id, r.personio_id))
            acted = True
        if not acted:
            plan.unchanged += 1

    for e in local:
        if e.id in seen_local or e.personio_id is None or e.personio_id in unreadable_ids:
            continue
        if e.missing:
            continue
        plan.actions.append(
            FlagMissing(e.id, e.personio_id, "not delivered by Personio", e.status != LEFT)
        )
    return plan


# --- the hold guard (SPEC §7: a sync that looks wrong is held, not applied) -----------------------

# Personio attribute keys the rules need; one vanishing between runs means the whitelist changed.
NEEDED_ATTRIBUTES: tuple[str, ...] = ("email", "first_name", "last_name", "termination_date")
MASS_CHANGE_SHARE = 0.20
MASS_CHANGE_MINIMUM = 5


def hold_reasons(
    plan: Plan,
    *,
    active_count: int,
    previous_attributes: frozenset[str] | None,
    delivered_attributes: frozenset[str],
) -> list[str]:
    """Why this plan must wait for an HR admin's confirmation; empty when it may be applied.

    `active_count` counts the company's employees that are not Left; `previous_attributes` is
    what the last applied run received (None before the first run).
    """
    reasons: list[str] = []
    if previous_attributes is not None:
        vanished = sorted(
            a
            for a in NEEDED_ATTRIBUTES
            if a in previous_attributes and a not in delivered_attributes
        )
        if vanished and plan.remote_total:
            reasons.append("attributes no longer delivered by Personio: " + ", ".join(vanished))
    if plan.remote_total == 0 and active_count > 0:
        reasons.append("Personio returned no employees while the company has active employees")
    leavers = len(plan.of(MarkLeaving)) + sum(1 for f in plan.of(FlagMissing) if f.counts_as_leaver)
    if (
        active_count
        and leavers >= MASS_CHANGE_MINIMUM
        and leavers >= MASS_CHANGE_SHARE * active_count
    ):
        reasons.append(
            f"{leavers} of {active_count} active employees would become leavers or missing"
        )
    return reasons
