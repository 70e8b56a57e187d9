"""GDPR erasure of an employee also erases what the sync kept about them.

SyncEvents with the employee cascade away with it; what remains is the plan a held run keeps,
which may hold the person's name and e-mail, skip events keyed by Personio ID only, and the
Personio ID in received webhook events and in the people a webhook run read.
"""

from __future__ import annotations

from typing import Any

from django.db.models.signals import pre_delete
from django.dispatch import receiver

from benefitsync.employees.models import Employee
from benefitsync.integrations.personio.models import (
    RunKind,
    RunStatus,
    SyncEvent,
    SyncRun,
    WebhookEvent,
)


@receiver(pre_delete, sender=Employee, dispatch_uid="personio-erase-employee")
def erase_sync_traces(sender: type[Employee], instance: Employee, **kwargs: Any) -> None:
    pid = instance.personio_id
    if pid is not None:
        SyncEvent.objects.filter(company_id=instance.company_id, personio_id=pid).delete()
        WebhookEvent.objects.filter(company_id=instance.company_id, personio_id=pid).delete()
        webhook_runs = SyncRun.objects.filter(
            company_id=instance.company_id, kind=RunKind.WEBHOOK, targets__isnull=False
        ).only("targets")
        for run in webhook_runs:  # JSON containment is not portable to SQLite: read them
            if pid in (run.targets or []):
                run.targets = [t for t in run.targets or [] if t != pid]
                run.save(update_fields=["targets"])
    for run in SyncRun.objects.filter(company_id=instance.company_id, plan__isnull=False).exclude(
        status=RunStatus.RUNNING
    ):
        plan = run.plan or {}
        actions = plan.get("actions", [])
        kept = [
            a
            for a in actions
            if a.get("employee_id") != instance.pk and (pid is None or a.get("personio_id") != pid)
        ]
        if len(kept) != len(actions):
            run.plan = {**plan, "actions": kept}
            run.save(update_fields=["plan"])
