"""The sequential reconcile of the whole listing, as it was before the sync learned to work in
chunks: the oracle the chunked `Reconciler` is checked against (test_reconcile_properties.py).
Kept verbatim in its logic; it uses the production rules' helpers (`_changes`,
`_leaving_actions`, `_lifecycle_for_new`), which the table tests pin down."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Sequence

from benefitsync.integrations.personio.reconcile import (
    ACTIVE,
    LEFT,
    Create,
    FlagMissing,
    Invite,
    LocalEmployee,
    Plan,
    Policy,
    RemoteEmployee,
    Skip,
    Unflag,
    Update,
    _changes,
    _leaving_actions,
    _lifecycle_for_new,
)


def _shared_emails(remote: Sequence[RemoteEmployee]) -> set[str]:
    seen = Counter(r.email for r in remote if r.email)
    return {email for email, n in seen.items() if n > 1}


def reference_reconcile(
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
            plan.actions.append(Skip(r.personio_id, "delivered_twice", name=r.name))
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
                plan.actions.append(Skip(r.personio_id, "email_shared", name=r.name))
                continue
            if r.email and r.email in taken_emails:
                plan.actions.append(Skip(r.personio_id, "email_taken", name=r.name))
                continue
            lifecycle = _lifecycle_for_new(r, today)
            if lifecycle is None:
                plan.actions.append(
                    Skip(r.personio_id, "left_before_sync", error=False, name=r.name)
                )
                continue
            status, month = lifecycle
            plan.actions.append(Create(r.personio_id, r.fields, status, month))
            if r.email:
                taken_emails[r.email] = -r.personio_id
            if policy.auto_invite:
                if not r.email:
                    plan.actions.append(
                        Skip(r.personio_id, "not_invited_no_email", error=False, name=r.name)
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
                plan.actions.append(Skip(r.personio_id, "new_email_taken", name=r.name))
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
        plan.actions.append(FlagMissing(e.id, e.personio_id, "not_delivered", e.status != LEFT))
    return plan
