"""Step 2 of a run: plan — reconcile what Personio delivers with the portal, chunk by chunk.

`plan_for` streams the listing through an `rc.Reconciler` (the pure rules of SPEC §3-5) and
parks the resulting actions in a spill; the portal is only read. `policy_of` gathers what the
rules need from the integration: the company filter, auto-invite, and the people HR erased.
A `Scope` says what is read: everything (a full run), what changed since a moment (delta), or
some people (webhook); the last two are partial — see `rc.Reconciler`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import itertools
from collections.abc import Callable
from typing import TYPE_CHECKING

from benefitsync.employees import services as employee_services
from benefitsync.integrations.personio import reconcile as rc
from benefitsync.integrations.personio.models import PersonioIntegration
from benefitsync.integrations.personio.sync.guard import hold_reasons_for
from benefitsync.integrations.personio.sync.portal import Local
from benefitsync.integrations.personio.sync.read import NotConnected, Reading, read, read_people
from benefitsync.integrations.personio.texts import Note
from benefitsync.lib.spill import Spill

if TYPE_CHECKING:
    from benefitsync.companies.models import Company

# Records reconciled (and actions applied) at a time; tests set it small to cross chunk edges.
CHUNK_SIZE = 1000


def policy_of(integration: PersonioIntegration) -> rc.Policy:
    company = integration.company
    return rc.Policy(
        company_filter=rc.CompanyFilter.of(
            integration.filter_email_domains,
            integration.filter_company_names,
            integration.filter_opt_in,
        ),
        auto_invite=integration.auto_invite,
        erased=employee_services.erased_personio_ids(company),
    )


def today_for(company: Company) -> dt.date:
    return employee_services.company_today(company)


@dataclasses.dataclass(frozen=True)
class Scope:
    """What a run reads: everything Personio delivers (the default), the employees changed
    after `since` (a delta run), or the `people` with these Personio IDs (a webhook run)."""

    since: dt.datetime | None = None
    people: frozenset[int] | None = None

    @property
    def partial(self) -> bool:
        return self.since is not None or self.people is not None


EVERYONE = Scope()


@dataclasses.dataclass
class Planned:
    """A reconciled plan: its actions in order (parked on disk), its counts, the reasons to
    hold it (empty: apply), and what the read delivered. Close it (or use `with`) to drop the
    actions."""

    actions: Spill[rc.Action]
    reconciler: rc.Reconciler
    reasons: list[Note]
    reading: Reading

    @property
    def tally(self) -> rc.Tally:
        return self.reconciler.tally

    def plan(self) -> rc.Plan:
        """The whole plan in memory (a preview or a held run keeps it)."""
        t = self.tally
        return rc.Plan(list(self.actions), t.unchanged, t.filtered_out, t.remote_total)

    def __enter__(self) -> Planned:
        return self

    def __exit__(self, *exc: object) -> None:
        self.actions.close()


def plan_for(
    company: Company,
    integration: PersonioIntegration,
    on_progress: Callable[[int], None] | None = None,
    scope: Scope = EVERYONE,
) -> Planned:
    """Read Personio (what `scope` says) and reconcile in chunks (see `rc.Reconciler`), then
    guard: the plan and the reasons to hold it. Records that need the whole listing wait in a
    spill; the actions go to another, read back in chunks of the same size by `apply`."""
    reconciler = rc.Reconciler(policy_of(integration), today_for(company), partial=scope.partial)
    reading = Reading()
    source = (
        read_people(integration, scope.people, reading)
        if scope.people is not None
        else read(integration, reading, on_progress, updated_since=scope.since)
    )
    size = CHUNK_SIZE
    actions: Spill[rc.Action] = Spill(chunk_size=size)
    try:
        with (
            Spill[rc.RemoteEmployee](chunk_size=size) as later,
            # Closed at once if reconciling fails mid-listing: the client's page threads stop.
            contextlib.closing(source) as items,
        ):
            chunk = list(itertools.islice(items, size))
            local = Local(company, whole_listing=len(chunk) < size)
            while chunk:
                pids = [r.personio_id for r in chunk if isinstance(r, rc.RemoteEmployee)]
                decided, deferred = reconciler.arrive(chunk, local.rows(pids, []))
                actions.extend(decided)
                later.extend(deferred)
                chunk = list(itertools.islice(items, size))
            reconciler.settle(local.keys(), gone=reading.gone)
            for records in later.chunks():
                pids, ids = reconciler.wanted(records)
                actions.extend(reconciler.decide(records, local.rows(pids, ids)))
                if on_progress is not None:
                    on_progress(reading.readable)
        actions.extend(reconciler.finish())
    except BaseException:
        actions.close()
        raise
    reasons = hold_reasons_for(integration, reconciler, reading, partial=scope.partial)
    return Planned(actions, reconciler, reasons, reading)


def dry_run(company: Company) -> tuple[rc.Plan, list[Note]]:
    """What the next sync would do, without writing anything."""
    integration = PersonioIntegration.objects.select_related("company").get(company=company)
    if not integration.is_connected:
        raise NotConnected("Personio is not connected for this company.")
    with plan_for(company, integration) as planned:
        return planned.plan(), planned.reasons
