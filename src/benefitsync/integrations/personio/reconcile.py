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
from typing import Any, Protocol

from benefitsync.employees import rules
from benefitsync.lib.months import Month

# Portal fields the sync maintains: exactly the Personio-managed fields of an employee.
SYNCED_FIELDS: tuple[str, ...] = rules.PERSONIO_FIELDS
OPT_IN_VALUES = frozenset({"yes", "true", "ja"})

ACTIVE, LEAVING, LEFT = rules.ACTIVE, rules.LEAVING, rules.LEFT


def email_key(email: str | None) -> str:
    """The form e-mails are compared in: trimmed and lower-case; '' when there is none."""
    return (email or "").strip().lower()


class _Pickled:
    """Pickles as (class, field values): a slots dataclass's default pickling is ~3x slower, and
    a sync pickles every record and every action once (`lib/spill.py`)."""

    __slots__: tuple[str, ...] = ()

    def __reduce__(self) -> tuple[type, tuple[Any, ...]]:
        return type(self), tuple(getattr(self, name) for name in self.__slots__)


# --- inputs ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RemoteEmployee(_Pickled):
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
class Create(_Pickled):
    personio_id: int
    fields: Mapping[str, Any]
    status: str = ACTIVE
    last_working_month: Month | None = None


@dataclass(frozen=True, slots=True)
class Update(_Pickled):
    employee_id: int
    personio_id: int
    changes: Mapping[str, tuple[Any, Any]]  # field -> (old, new)
    link: bool = False  # True: a hand-made employee (or one of an old account) gets this ID


@dataclass(frozen=True, slots=True)
class MarkLeaving(_Pickled):
    employee_id: int
    personio_id: int
    last_working_month: Month


@dataclass(frozen=True, slots=True)
class MoveLeaving(_Pickled):
    employee_id: int
    personio_id: int
    old_month: Month | None
    last_working_month: Month


@dataclass(frozen=True, slots=True)
class UndoLeaving(_Pickled):
    employee_id: int
    personio_id: int


@dataclass(frozen=True, slots=True)
class FlagMissing(_Pickled):
    employee_id: int
    personio_id: int | None
    reason: str
    counts_as_leaver: bool  # the employee is active or leaving: weighs in the mass-change hold


@dataclass(frozen=True, slots=True)
class Unflag(_Pickled):
    employee_id: int
    personio_id: int


@dataclass(frozen=True, slots=True)
class Skip(_Pickled):
    personio_id: int | None
    reason: str
    error: bool = True  # False: an expected skip (e.g. left before the first sync), not an error


@dataclass(frozen=True, slots=True)
class Invite(_Pickled):
    personio_id: int


Action = (
    Create | Update | MarkLeaving | MoveLeaving | UndoLeaving | FlagMissing | Unflag | Skip | Invite
)


@dataclass(slots=True)
class Tally:
    """The counts of a plan, kept while its actions stream by (a run's `counts`)."""

    created: int = 0
    updated: int = 0
    leaving: int = 0
    undone_leaving: int = 0
    flagged_missing: int = 0
    unflagged: int = 0
    skipped: int = 0
    errors: int = 0
    invited: int = 0
    unchanged: int = 0
    filtered_out: int = 0
    remote_total: int = 0
    leavers: int = 0  # MarkLeaving + FlagMissing of active/leaving employees: the hold guard's

    def add(self, actions: Iterable[Action]) -> None:
        updated: set[int] = set()
        for a in actions:
            match a:
                case Create():
                    self.created += 1
                case Update(employee_id=eid):
                    updated.add(eid)
                case MarkLeaving():
                    self.leaving += 1
                    self.leavers += 1
                case MoveLeaving():
                    self.leaving += 1
                case UndoLeaving():
                    self.undone_leaving += 1
                case FlagMissing(counts_as_leaver=leaver):
                    self.flagged_missing += 1
                    self.leavers += leaver
                case Unflag():
                    self.unflagged += 1
                case Skip(error=error):
                    self.skipped += 1
                    self.errors += error
                case Invite():
                    self.invited += 1
        # An employee has at most one Update per run, so per-chunk sets add up.
        self.updated += len(updated)

    def counts(self) -> dict[str, int]:
        return {
            "created": self.created,
            "updated": self.updated,
            "leaving": self.leaving,
            "undone_leaving": self.undone_leaving,
            "flagged_missing": self.flagged_missing,
            "unflagged": self.unflagged,
            "skipped": self.skipped,
            "errors": self.errors,
            "invited": self.invited,
            "unchanged": self.unchanged,
            "filtered_out": self.filtered_out,
            "remote_total": self.remote_total,
        }


@dataclass(slots=True)
class Plan:
    actions: list[Action] = field(default_factory=list)
    unchanged: int = 0
    filtered_out: int = 0
    remote_total: int = 0

    def of(self, kind: type[Any]) -> list[Any]:
        return [a for a in self.actions if isinstance(a, kind)]

    def tally(self) -> Tally:
        tally = Tally(
            unchanged=self.unchanged, filtered_out=self.filtered_out, remote_total=self.remote_total
        )
        tally.add(self.actions)
        return tally

    def counts(self) -> dict[str, int]:
        return self.tally().counts()

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


class LocalKey(Protocol):
    """What a sync keeps of every portal employee for the whole run (`LocalEmployee` is one)."""

    @property
    def id(self) -> int: ...
    @property
    def personio_id(self) -> int | None: ...
    @property
    def email(self) -> str: ...  # `email_key` form
    @property
    def status(self) -> str: ...
    @property
    def missing(self) -> bool: ...


@dataclass(frozen=True, slots=True)
class Listing:
    """What the whole Personio listing says, as far as a decision about one employee needs it."""

    ids: frozenset[int]  # every Personio ID delivered, readable or not
    unreadable: frozenset[int]  # IDs of records the parser could not read
    shared_emails: frozenset[str]  # e-mails on several (distinct) Personio employees
    total: int  # records delivered, readable or not


class Survey:
    """Learns the `Listing` while the records stream by (the first pass of a sync); keeps ids
    and e-mails only, never the records."""

    def __init__(self) -> None:
        self.total = 0
        self._ids: set[int] = set()
        self._unreadable: set[int] = set()
        self._emails: Counter[str] = Counter()

    def add(self, item: RemoteEmployee | Skip) -> None:
        self.total += 1
        if isinstance(item, Skip):
            if item.personio_id is not None:
                self._unreadable.add(item.personio_id)
        elif item.personio_id not in self._ids:  # a repeated ID is skipped, not counted
            self._ids.add(item.personio_id)
            email = item.email
            if email:
                self._emails[email] += 1

    def listing(self) -> Listing:
        return Listing(
            ids=frozenset(self._ids | self._unreadable),
            unreadable=frozenset(self._unreadable),
            shared_emails=frozenset(e for e, n in self._emails.items() if n > 1),
            total=self.total,
        )


class Reconciler:
    """`reconcile()` in steps, so a sync never holds the whole company: the listing's ids and
    shared e-mails (`Listing`), the portal's e-mails and which employees were matched are kept;
    records and portal employees pass through in chunks, in Personio's order.

    `step()` needs the portal employees a chunk can match: by Personio ID, and the e-mail
    candidates `wanted()` names. Feeding every record in one step is `reconcile()` itself.
    """

    def __init__(
        self, listing: Listing, local: Iterable[LocalKey], policy: Policy, today: dt.date
    ) -> None:
        self.listing = listing
        self.policy = policy
        self.today = today
        self.tally = Tally(remote_total=listing.total)
        self.active_count = 0
        # E-mail → employee id: every portal e-mail (`taken`); and the employees an e-mail may
        # link (`candidates`): not linked, or linked to an ID Personio no longer delivers.
        self.taken: dict[str, int] = {}
        self.candidates: dict[str, int] = {}
        # Linked employees whose ID Personio no longer delivers: flagged missing by `finish()`
        # unless an e-mail links them to a delivered record first.
        self.undelivered: dict[int, FlagMissing] = {}
        for e in local:
            if e.status != LEFT:
                self.active_count += 1
            delivered = e.personio_id is not None and e.personio_id in listing.ids
            if e.email:
                self.taken[e.email] = e.id
                if not delivered:
                    self.candidates[e.email] = e.id
            if e.personio_id is not None and not delivered and not e.missing:
                self.undelivered[e.id] = FlagMissing(
                    e.id, e.personio_id, "not delivered by Personio", e.status != LEFT
                )
        self.seen_remote: set[int] = set()
        self.seen_local: set[int] = set()

    def wanted(self, chunk: Iterable[RemoteEmployee | Skip]) -> tuple[list[int], list[int]]:
        """The Personio IDs and e-mail candidate employee ids `step(chunk)` needs."""
        pids: list[int] = []
        ids: list[int] = []
        for r in chunk:
            if isinstance(r, RemoteEmployee):
                pids.append(r.personio_id)
                candidate = self.candidates.get(r.email) if self.candidates else None
                if candidate is not None:
                    ids.append(candidate)
        return pids, ids

    def step(
        self, chunk: Iterable[RemoteEmployee | Skip], local: Iterable[LocalEmployee]
    ) -> list[Action]:
        """The actions for `chunk`; `local` holds (at least) the employees `wanted(chunk)`."""
        by_pid: dict[int, LocalEmployee] = {}
        by_id: dict[int, LocalEmployee] = {}
        for e in local:
            by_id[e.id] = e
            if e.personio_id is not None:
                by_pid[e.personio_id] = e
        actions: list[Action] = []
        for r in chunk:
            if isinstance(r, Skip):
                actions.append(r)  # a record the parser could not read
            elif r.personio_id in self.seen_remote:
                actions.append(Skip(r.personio_id, "delivered twice by Personio"))
            else:
                self.seen_remote.add(r.personio_id)
                self._one(r, by_pid, by_id, actions)
        self.tally.add(actions)
        return actions

    def _one(
        self,
        r: RemoteEmployee,
        by_pid: Mapping[int, LocalEmployee],
        by_id: Mapping[int, LocalEmployee],
        actions: list[Action],
    ) -> None:
        shared = self.listing.shared_emails
        email = r.email  # a property (normalises): once per record
        match = by_pid.get(r.personio_id)
        link = False
        if match is None and email:
            candidate = self.candidates.get(email)
            if candidate is not None and candidate not in self.seen_local:
                match, link = by_id[candidate], True
        outside = self.policy.company_filter.rejects(r)

        if match is None:
            if outside:
                self.tally.filtered_out += 1
                return
            if email in shared:
                actions.append(
                    Skip(r.personio_id, "e-mail address is used by several Personio employees")
                )
                return
            if email and email in self.taken:
                actions.append(
                    Skip(r.personio_id, "e-mail address belongs to another portal employee")
                )
                return
            lifecycle = _lifecycle_for_new(r, self.today)
            if lifecycle is None:
                actions.append(Skip(r.personio_id, "left before being synchronized", error=False))
                return
            status, month = lifecycle
            actions.append(Create(r.personio_id, r.fields, status, month))
            if email:
                self.taken[email] = -r.personio_id
            if self.policy.auto_invite:
                if not email:
                    actions.append(
                        Skip(r.personio_id, "no e-mail address: not invited", error=False)
                    )
                elif status == ACTIVE:
                    actions.append(Invite(r.personio_id))
            return

        self.seen_local.add(match.id)
        if outside:
            if not match.missing:
                actions.append(
                    FlagMissing(match.id, match.personio_id, outside, match.status != LEFT)
                )
            else:
                self.tally.unchanged += 1
            return

        changes = _changes(r, match)
        if "email" in changes and email:
            owner = self.taken.get(email)
            if email in shared or (owner is not None and owner != match.id):
                del changes["email"]
                actions.append(
                    Skip(r.personio_id, "new e-mail address belongs to another employee")
                )
        leaving, date_change = _leaving_actions(r, match, self.today)
        if date_change is not None:
            changes["leaving_date"] = date_change
        acted = False
        if changes or link:
            actions.append(Update(match.id, r.personio_id, changes, link))
            acted = True
        if leaving:
            actions.extend(leaving)
            acted = True
        if match.missing:
            actions.append(Unflag(match.id, r.personio_id))
            acted = True
        if not acted:
            self.tally.unchanged += 1

    def finish(self) -> list[Action]:
        """Flag the linked employees Personio did not deliver (an unreadable record's ID counts
        as delivered: nobody is flagged over a bad record)."""
        actions: list[Action] = [
            flag for eid, flag in self.undelivered.items() if eid not in self.seen_local
        ]
        self.tally.add(actions)
        return actions


def survey(remote: Iterable[RemoteEmployee], bad_records: Iterable[Skip] = ()) -> Listing:
    s = Survey()
    for bad in bad_records:
        s.add(bad)
    for r in remote:
        s.add(r)
    return s.listing()


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
    The whole listing in one step of a `Reconciler`: a sync runs the same steps in chunks.
    """
    reconciler = Reconciler(survey(remote, bad_records), local, policy, today)
    actions = reconciler.step([*bad_records, *remote], local)
    actions += reconciler.finish()
    tally = reconciler.tally
    return Plan(actions, tally.unchanged, tally.filtered_out, tally.remote_total)


# --- the hold guard (SPEC §7: a sync that looks wrong is held, not applied) -----------------------

# Personio attribute keys the rules need; one vanishing between runs means the whitelist changed.
NEEDED_ATTRIBUTES: tuple[str, ...] = ("email", "first_name", "last_name", "termination_date")
MASS_CHANGE_SHARE = 0.20
MASS_CHANGE_MINIMUM = 5


def hold_reasons(
    tally: Tally,
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
        if vanished and tally.remote_total:
            reasons.append("attributes no longer delivered by Personio: " + ", ".join(vanished))
    if tally.remote_total == 0 and active_count > 0:
        reasons.append("Personio returned no employees while the company has active employees")
    leavers = tally.leavers
    if (
        active_count
        and leavers >= MASS_CHANGE_MINIMUM
        and leavers >= MASS_CHANGE_SHARE * active_count
    ):
        reasons.append(
            f"{leavers} of {active_count} active employees would become leavers or missing"
        )
    return reasons
