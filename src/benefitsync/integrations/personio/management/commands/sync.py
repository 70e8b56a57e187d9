"""`benefitsync sync SLUG [--delta] [--dry-run] [--json]` — synchronize a company now, in this
process: everyone Personio delivers, or with `--delta` only who changed since the last run.
`benefitsync sync SLUG --confirm RUN | --discard RUN` — decide a held run (as the system).

A run that is queued but not claimed by any worker (connected while no worker runs) is taken
over and carried out here. Exit status: 0 the run applied (succeeded, or partly failed: see
`counts.errors` and the skip events), 3 held for a decision (nothing applied), 1 failed or
refused.

JSON output (stable): {"run": id|null, "company": slug, "outcome": "succeeded|partly_failed|failed|
held|dry_run", "kind": "full|manual|delta|webhook", "counts": {...}, "hold_reasons": [...],
"message": str, "requests": n, "rate_limited": n}; with --dry-run also "actions": [{"action",
"personio_id", "employee_id", "changes", "message"}].
"""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from benefitsync.companies.cli import company_by_slug
from benefitsync.integrations.personio.models import RunKind, RunStatus, SyncRun, Trigger
from benefitsync.integrations.personio.texts import render


class Command(BaseCommand):
    help = "Synchronize a company with Personio now (or only show the plan with --dry-run)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug")
        parser.add_argument(
            "--delta",
            action="store_true",
            help="Read only the employees changed since the last run (Personio's updated_since).",
        )
        parser.add_argument("--dry-run", action="store_true")
        parser.add_argument("--json", action="store_true")
        decide = parser.add_mutually_exclusive_group()
        decide.add_argument("--confirm", type=int, metavar="RUN", help="Apply a held run's plan.")
        decide.add_argument("--discard", type=int, metavar="RUN", help="Discard a held run.")

    def handle(self, *args: Any, **options: Any) -> None:
        # Imported here, not at the top: the sync pulls in the client (httpx, pydantic, msgspec),
        # which `benefitsync sync --help` and a mistyped slug do not need (docs/operations.md).
        from benefitsync.integrations.personio import sync
        from benefitsync.integrations.personio.errors import PersonioError

        company = company_by_slug(options["slug"])
        if options["confirm"] or options["discard"]:
            run_id = options["confirm"] or options["discard"]
            held = SyncRun.objects.filter(company=company, pk=run_id).first()
            if held is None:
                raise CommandError(f"No run {run_id} for {company.slug}.")
            try:
                if options["confirm"]:
                    held = sync.confirm_held(held, acting_user=None)
                else:
                    held = sync.discard_held(held, acting_user=None)
            except (ValueError, sync.AlreadyRunning) as exc:
                raise CommandError(str(exc)) from None
            result: dict[str, Any] = {
                "run": held.pk,
                "company": company.slug,
                "outcome": held.status,
                "counts": held.counts,
                "hold_reasons": held.hold_texts,
                "message": held.text,
            }
        elif options["dry_run"]:
            try:
                plan, reasons = sync.dry_run(company)
            except (PersonioError, sync.NotConnected) as exc:
                raise CommandError(str(exc)) from None
            result = {
                "run": None,
                "company": company.slug,
                "outcome": "dry_run",
                "counts": plan.counts(),
                "hold_reasons": [str(r) for r in reasons],
                "message": "",
                "actions": [
                    {
                        "action": kind,
                        "personio_id": getattr(a, "personio_id", None),
                        "employee_id": getattr(a, "employee_id", None),
                        "changes": changes,
                        "message": render(note),
                    }
                    for a in plan.actions
                    for kind, changes, note, _error in [sync.describe(a)]
                ],
            }
        else:
            try:
                run = sync.request_sync(
                    company,
                    Trigger.COMMAND,
                    enqueue=False,
                    kind=RunKind.DELTA if options["delta"] else RunKind.FULL,
                )
            except sync.AlreadyRunning as exc:
                if exc.run is None or exc.run.status != RunStatus.QUEUED:
                    raise CommandError(str(exc)) from None
                # Queued and claimed by nobody (no worker runs): carry it out here. Claiming is
                # conditional, so a worker that wakes up meanwhile and this process never both
                # run it.
                run = exc.run
            run = sync.execute_run(run.pk)
            if run.status in (RunStatus.QUEUED, RunStatus.RUNNING):
                raise CommandError("A worker took over this synchronization; see its result later.")
            result = {
                "run": run.pk,
                "company": company.slug,
                "outcome": run.status,
                "kind": run.kind,
                "counts": run.counts,
                "hold_reasons": run.hold_texts,
                "message": run.text,
                "requests": run.requests,
                "rate_limited": run.rate_limited,
            }
        if options["json"]:
            self.stdout.write(json.dumps(result))
        else:
            self.stdout.write(
                f"{result['outcome']}: "
                + ", ".join(f"{k} {v}" for k, v in result["counts"].items() if v)
            )
            for reason in result["hold_reasons"]:
                self.stdout.write(f"  held: {reason}")
            if result["message"]:
                self.stdout.write(f"  {result['message']}")
        if result["outcome"] == RunStatus.FAILED:
            raise CommandError("the synchronization failed", returncode=1)
        if result["outcome"] == RunStatus.HELD:
            raise CommandError(
                "the synchronization is held for a decision; nothing was applied", returncode=3
            )


def run_summary(run: SyncRun) -> str:
    """One line: the counts that are not zero, or the message of a run that did not apply."""
    counts = ", ".join(f"{k} {v}" for k, v in (run.counts or {}).items() if v)
    return counts or run.text
