"""GDPR erasure of an employee also erases what the sync kept about them.

SyncEvents with the employee cascade away with it; what remains is the plan a held run keeps,
which may hold the person's name and e-mail, and skip events keyed by Personio ID only.
"""

from __future__ import annotations

from typing import Any

from django.db.models.signals import pre_delete
from django.dispatch import receiver

from benefitsync.employees.models import Employee
from benefitsync.integrations.personio.models import RunStatus, SyncEvent, SyncRun


@receiver(pre_delete, sender=Employee, dispatch_uid="personio-erase-employee")
def erase_sync_traces(sender: type[Employee], instance: Employee, **kwargs: Any) -> None:
    pid = instance.personio_id
    if pid is not None:
        SyncEvent.objects.filter(company_id=instance.company_id, personio_id=pid).delete()
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
