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
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from benefitsync.employees import rules
from benefitsync.integrations.personio.texts import Note
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

    @property
    def name(self) -> str:
        """First and last name as delivered, for reports ("" when not delivered)."""
        first, last = self.fields.get("first_name") or "", self.fields.get("last_name") or ""
        return f"{first} {last}".strip()


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
        """The reason (a `texts` code) `remote` is outside this company, or None when it
        belongs here."""
        if self.email_domains:
            domain = remote.email.rpartition("@")[2]
            if domain not in self.email_domains:
                return "filter_domain"
        if self.company_names and remote.company_name not in self.company_names:
            return "filter_company"
        if self.opt_in_required and (remote.opt_in or "").strip().lower() not in OPT_IN_VALUES:
            return "filter_opt_in"
        return None


@dataclass(frozen=True, slots=True)
class Policy:
    company_filter: CompanyFilter = CompanyFilter()
    auto_invite: bool = False
    # When HR erased the employee with this Personio ID (GDPR), the day it happened; None when
    # not erased. Such a person is never created (or invited) again until HR allows it.
    erased: Callable[[int], dt.date | None] | None = None


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
    reason: str  # a `texts.CATALOGUE` code
    counts_as_leaver: bool  # the employee is active or leaving: weighs in the mass-change hold


@dataclass(frozen=True, slots=True)
class Unflag(_Pickled):
    employee_id: int
    personio_id: int


@dataclass(frozen=True, slots=True)
class Skip(_Pickled):
    """A record the run does not take. `code` names the reason in `texts.CATALOGUE` (the run
    stores codes, not sentences: it is read later, in the reader's language); `name` is who the
    record is, so a report names a person, not only an ID."""

    personio_id: int | None
    code: str
    error: bool = True  # False: an expected skip (e.g. left before the first sync), not an error
    params: Mapping[str, Any] = field(default_factory=dict)
    name: str = ""


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
    if local.status == ACTIVE:
        return [MarkLeaving(local.id, pid, rules.last_working_month(new_date, today))], date_change
    month = rules.recomputed_last_working_month(new_date, local.last_working_month, today)
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


class Reconciler:
    """`reconcile()` in passes over chunks, so a sync never holds the whole company.

    1. `arrive(chunk, local)`, while the listing streams by: counts and de-duplicates every
       record, learns what only the whole listing can say (every delivered ID, the e-mails
       several records share), and decides at once each record matched by Personio ID whose
       e-mail did not change: nothing about such a record depends on the rest of the listing.
       The others (new hires, e-mail matches, changed e-mails) are returned for step 3. `local`
       holds (at least) the portal employees with the chunk's Personio IDs.
    2. `settle(local)`, once the listing is complete, with every portal employee in its slim
       form (`LocalKey`): which e-mails are taken and which employees an e-mail may link.
    3. `decide(chunk, local)` for the records step 1 returned, in their order; `local` holds
       (at least) the employees `wanted(chunk)` names.
    4. `finish()`: flag the linked employees Personio did not deliver.

    A `partial` run (a webhook or delta run) reads only some people, so absence from its
    listing means nothing: only the Personio IDs `settle` gets as `gone` (Personio answered "no
    such employee") are flagged, and every other linked employee counts as delivered — its
    e-mail links nobody else.

    Kept for the whole company: ids, e-mails and which employees were matched; records and
    portal employees pass through. `reconcile()` is all four steps over one chunk, and a
    property test checks that any chunking decides what the sequential original did.
    """

    def __init__(self, policy: Policy, today: dt.date, *, partial: bool = False) -> None:
        self.policy = policy
        self.today = today
        self.partial = partial
        self.tally = Tally()
        self.seen_remote: set[int] = set()
        self.seen_local: set[int] = set()
        self._unreadable: set[int] = set()
        self._emails: Counter[str] = Counter()
        self.shared_emails: frozenset[str] = frozenset()  # set by settle()
        self.active_count = 0
        # E-mail → employee id: every portal e-mail (`taken`); and the employees an e-mail may
        # link (`candidates`): not linked, or linked to an ID Personio no longer delivers.
        self.taken: dict[str, int] = {}
        self.candidates: dict[str, int] = {}
        # Linked employees whose ID Personio no longer delivers: flagged missing by `finish()`
        # unless an e-mail links them to a delivered record first.
        self.undelivered: dict[int, FlagMissing] = {}

    # -- 1. while the listing streams by

    def arrive(
        self, chunk: Iterable[RemoteEmployee | Skip], local: Iterable[LocalEmployee]
    ) -> tuple[list[Action], list[RemoteEmployee]]:
        """The actions decided now, and the records left for `decide()`."""
        by_pid = {e.personio_id: e for e in local if e.personio_id is not None}
        actions: list[Action] = []
        later: list[RemoteEmployee] = []
        for r in chunk:
            self.tally.remote_total += 1
            if isinstance(r, Skip):  # a record the parser could not read
                if r.personio_id is not None:
                    self._unreadable.add(r.personio_id)
                actions.append(r)
                continue
            if r.personio_id in self.seen_remote:
                actions.append(Skip(r.personio_id, "delivered_twice", name=r.name))
                continue
            self.seen_remote.add(r.personio_id)
            email = r.email  # a property (normalises): once per record
            if email:
                self._emails[email] += 1
            match = by_pid.get(r.personio_id)
            if match is None:
                later.append(r)  # new, or an e-mail match: needs the whole listing
                continue
            outside = self.policy.company_filter.rejects(r)
            changes = {} if outside else _changes(r, match)
            if "email" in changes and email:
                later.append(r)  # is the new e-mail free? needs the whole listing
                continue
            self._matched(r, match, False, email, outside, changes, actions)
        self.tally.add(actions)
        return actions, later

    # -- 2. the listing is complete

    def settle(self, local: Iterable[LocalKey], *, gone: Iterable[int] = ()) -> None:
        self.shared_emails = frozenset(e for e, n in self._emails.items() if n > 1)
        self._emails = Counter()
        delivered_ids, unreadable, gone = self.seen_remote, self._unreadable, frozenset(gone)
        for e in local:
            if e.status != LEFT:
                self.active_count += 1
            pid = e.personio_id
            if self.partial:  # delivered unless Personio said it is gone
                delivered = pid is not None and pid not in gone
            else:
                delivered = pid is not None and (pid in delivered_ids or pid in unreadable)
            if e.email:
                self.taken[e.email] = e.id
                if not delivered:
                    self.candidates[e.email] = e.id
            if e.personio_id is not None and not delivered and not e.missing:
                self.undelivered[e.id] = FlagMissing(
                    e.id, e.personio_id, "not_delivered", e.status != LEFT
                )

    # -- 3. the records that needed the whole listing

    def wanted(self, chunk: Iterable[RemoteEmployee]) -> tuple[list[int], list[int]]:
        """The Personio IDs and e-mail candidate employee ids `decide(chunk)` needs."""
        pids: list[int] = []
        ids: list[int] = []
        for r in chunk:
            pids.append(r.personio_id)
            candidate = self.candidates.get(r.email) if self.candidates else None
            if candidate is not None:
                ids.append(candidate)
        return pids, ids

    def decide(
        self, chunk: Iterable[RemoteEmployee], local: Iterable[LocalEmployee]
    ) -> list[Action]:
        by_pid: dict[int, LocalEmployee] = {}
        by_id: dict[int, LocalEmployee] = {}
        for e in local:
            by_id[e.id] = e
            if e.personio_id is not None:
                by_pid[e.personio_id] = e
        actions: list[Action] = []
        for r in chunk:
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
        email = r.email
        match = by_pid.get(r.personio_id)
        link = False
        if match is None and email:
            candidate = self.candidates.get(email)
            if candidate is not None and candidate not in self.seen_local:
                match, link = by_id[candidate], True
        outside = self.policy.company_filter.rejects(r)

        if match is not None:
            changes = {} if outside else _changes(r, match)
            self._matched(r, match, link, email, outside, changes, actions)
            return
        if outside:
            self.tally.filtered_out += 1
            return
        erased_on = self.policy.erased(r.personio_id) if self.policy.erased else None
        if erased_on is not None:
            # No name: the point of the erasure is that the portal keeps nothing of the person.
            params = {"date": erased_on.isoformat()}
            actions.append(Skip(r.personio_id, "deleted_in_portal", error=False, params=params))
            return
        if email in self.shared_emails:
            actions.append(Skip(r.personio_id, "email_shared", name=r.name))
            return
        if email and email in self.taken:
            actions.append(Skip(r.personio_id, "email_taken", name=r.name))
            return
        lifecycle = _lifecycle_for_new(r, self.today)
        if lifecycle is None:
            actions.append(Skip(r.personio_id, "left_before_sync", error=False, name=r.name))
            return
        status, month = lifecycle
        actions.append(Create(r.personio_id, r.fields, status, month))
        if email:
            self.taken[email] = -r.personio_id
        if self.policy.auto_invite:
            if not email:
                actions.append(
                    Skip(r.personio_id, "not_invited_no_email", error=False, name=r.name)
                )
            elif status == ACTIVE:
                actions.append(Invite(r.personio_id))

    def _matched(
        self,
        r: RemoteEmployee,
        match: LocalEmployee,
        link: bool,
        email: str,
        outside: str | None,
        changes: dict[str, tuple[Any, Any]],
        actions: list[Action],
    ) -> None:
        """The actions for a record matched to a portal employee (`changes`: `_changes()`)."""
        self.seen_local.add(match.id)
        if outside:
            if not match.missing:
                actions.append(
                    FlagMissing(match.id, match.personio_id, outside, match.status != LEFT)
                )
            else:
                self.tally.unchanged += 1
            return
        if "email" in changes and email:
            owner = self.taken.get(email)
            if email in self.shared_emails or (owner is not None and owner != match.id):
                del changes["email"]
                actions.append(Skip(r.personio_id, "new_email_taken", name=r.name))
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

    # -- 4.

    def finish(self) -> list[Action]:
        """Flag the linked employees Personio did not deliver (an unreadable record's ID counts
        as delivered: nobody is flagged over a bad record)."""
        actions: list[Action] = [
            flag for eid, flag in self.undelivered.items() if eid not in self.seen_local
        ]
        self.tally.add(actions)
        return actions


def reconcile(
    remote: Sequence[RemoteEmployee],
    local: Sequence[LocalEmployee],
    policy: Policy,
    today: dt.date,
    *,
    bad_records: Sequence[Skip] = (),
    gone: Iterable[int] | None = None,
) -> Plan:
    """Decide what the portal must change so that it agrees with Personio.

    `today` is the company's local date. `bad_records` are records the parser could not read;
    they are carried into the plan as skips, and their Personio IDs are never flagged missing.
    All steps of a `Reconciler` over one chunk: a sync runs the same steps in chunks. With
    `gone` the listing is partial (see `Reconciler`).
    """
    reconciler = Reconciler(policy, today, partial=gone is not None)
    actions, later = reconciler.arrive([*bad_records, *remote], local)
    reconciler.settle(local, gone=gone or ())
    actions += reconciler.decide(later, local)
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
    partial: bool = False,
) -> list[Note]:
    """Why this plan must wait for an HR admin's confirmation; empty when it may be applied.

    `active_count` counts the company's employees that are not Left; `previous_attributes` is
    what the last applied run received (None before the first run). A `partial` listing (some
    people only) may well be empty.
    """
    reasons: list[Note] = []
    if previous_attributes is not None:
        vanished = sorted(
            a
            for a in NEEDED_ATTRIBUTES
            if a in previous_attributes and a not in delivered_attributes
        )
        if vanished and tally.remote_total:
            reasons.append(Note("attributes_vanished", {"attributes": ", ".join(vanished)}))
    if tally.remote_total == 0 and active_count > 0 and not partial:
        reasons.append(Note("empty_listing"))
    leavers = tally.leavers
    if (
        active_count
        and leavers >= MASS_CHANGE_MINIMUM
        and leavers >= MASS_CHANGE_SHARE * active_count
    ):
        reasons.append(Note("mass_leaving", {"leavers": leavers, "active": active_count}))
    return reasons
