"""The sync: one step per module, in the order data flows.

    read.py     Personio's employees, mapped to portal terms       (and portal.py: the portal's)
    plan.py     reconcile them chunk by chunk (`reconcile.py`, pure) into a plan of actions
    guard.py    hold a plan that looks wrong for an HR admin; held plans, confirm and discard
    apply.py    write the plan in one transaction, through `employees.services`
    record.py   one `SyncEvent` per action, as codes a reader sees in their language
    run.py      a run's lifecycle around those steps: request, claim, execute, fail

The run's status changes live on its model (`SyncRun.objects.claim/heartbeat/reap_stale`,
`run.finish`); the schedule (`schedule.py`) and the failure streak (`health.py`) sit beside
this package, which imports neither `services.py` nor `tasks.py`.
"""

# The step modules keep their names (`sync.read`, `sync.apply`): their main functions are
# imported from them, not re-exported here under the same names.
from benefitsync.integrations.personio.sync.apply import AlreadyRunning, RunLost
from benefitsync.integrations.personio.sync.guard import (
    PlanOutdated,
    confirm_held,
    discard_held,
    plan_from_json,
    plan_to_json,
    recheck,
)
from benefitsync.integrations.personio.sync.plan import dry_run, plan_for, policy_of
from benefitsync.integrations.personio.sync.portal import snapshot
from benefitsync.integrations.personio.sync.read import (
    NotConnected,
    Reading,
    client_for,
    make_client,
)
from benefitsync.integrations.personio.sync.record import describe
from benefitsync.integrations.personio.sync.run import (
    execute_run,
    in_progress,
    request_sync,
    run_sync,
)

__all__ = [
    "AlreadyRunning",
    "NotConnected",
    "PlanOutdated",
    "Reading",
    "RunLost",
    "client_for",
    "confirm_held",
    "describe",
    "discard_held",
    "dry_run",
    "execute_run",
    "in_progress",
    "make_client",
    "plan_for",
    "plan_from_json",
    "plan_to_json",
    "policy_of",
    "recheck",
    "request_sync",
    "run_sync",
    "snapshot",
]
