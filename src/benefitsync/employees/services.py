"""Every change of an employee's lifecycle goes through a `do_*` function here (STYLE: one path per
state change). Each is atomic, takes `acting_user` (None = the system) and writes the audit log.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Collection, Iterable
from typing import TYPE_CHECKING, Any

from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from benefitsync.audit import services as audit
from benefitsync.benefits import services as benefit_services
from benefitsync.benefits.models import VoucherSelection
from benefitsync.employees import rules
from benefitsync.employees.models import Employee, EmployeeSource, EmployeeStatus, ErasedPerson
from benefitsync.employees.rules import ActionRefused as ActionRefused
from benefitsync.lib import crypto
from benefitsync.lib.db import among, fast_insert
from benefitsync.lib.months import Month, local_today

if TYPE_CHECKING:
    from benefitsync.accounts.models import User
    from benefitsync.companies.models import Company


def lock_employee_for(
    employee: Employee, action: rules.Action, *, today: dt.date, month: Month | None = None
) -> Employee:
    """Lock the employee's row and refuse (ActionRefused) when their status forbids `action`
    for `month`; the lock keeps a termination from slipping in before the caller writes."""
    locked = Employee.objects.select_for_update().get(pk=employee.pk)
    rules.require(action, status=locked.status, today=today, last_month=locked.lwm, month=month)
    return locked


def company_today(company: Company, now: dt.datetime | None = None) -> dt.date:
    return local_today(company.time_zone, now)


@transaction.atomic
def do_create_employee(company: Company, *, acting_user: User | None, **fields: Any) -> Employee:
    """Create an employee by hand (source: manual)."""
    employee = Employee(company=company, source=EmployeeSource.MANUAL, **fields)
    employee.full_clean(exclude=["company", "user"])
    employee.save()
    audit.record(
        "employee.create", company=company, actor=acting_user, target=f"employee:{employee.pk}"
    )
    return employee


@transaction.atomic
def do_update_employee(
    employee: Employee, changes: dict[str, Any], *, acting_user: User | None
) -> Employee:
    """Apply hand edits to an employee's master data (never its lifecycle fields)."""
    forbidden = {"status", "last_working_month", "company", "personio_id", "user"} & set(changes)
    if forbidden:
        raise ValueError(f"lifecycle fields change through their own services: {forbidden}")
    for field, value in changes.items():
        setattr(employee, field, value)
    employee.full_clean(exclude=["company", "user"])
    employee.save()
    audit.record(
        "employee.update",
        company=employee.company,
        actor=acting_user,
        target=f"employee:{employee.pk}",
        fields=sorted(changes),
    )
    return employee


@transaction.atomic
def do_mark_leaving(
    employee: Employee, leaving_date: dt.date, *, today: dt.date, acting_user: User | None
) -> Employee:
    """Set a leaving date: Leaving planned with the last working month of SPEC §4.1-2 and §4.4;
    every benefit ends at the end of that month."""
    last_month = rules.last_working_month(leaving_date, today)
    employee.leaving_date = leaving_date
    employee.last_working_month = last_month.first_day
    employee.status = EmployeeStatus.LEAVING
    employee.save(update_fields=["leaving_date", "last_working_month", "status", "updated_at"])
    benefit_services.end_benefits_for_leaving([employee.pk], last_month)
    audit.record(
        "employee.mark_leaving",
        company=employee.company,
        actor=acting_user,
        target=f"employee:{employee.pk}",
        last_working_month=str(last_month),
    )
    return employee


@transaction.atomic
def do_undo_leaving(employee: Employee, *, acting_user: User | None) -> Employee:
    """The leaving date was removed before it took effect: Active again; leaving ends undone."""
    if employee.status != EmployeeStatus.LEAVING:
        raise ActionRefused("Only a planned leaving can be undone.")
    employee.leaving_date = None
    employee.last_working_month = None
    employee.status = EmployeeStatus.ACTIVE
    employee.save(update_fields=["leaving_date", "last_working_month", "status", "updated_at"])
    benefit_services.undo_leaving_ends([employee.pk])
    audit.record(
        "employee.undo_leaving",
        company=employee.company,
        actor=acting_user,
        target=f"employee:{employee.pk}",
    )
    return employee


def do_complete_leaving(company: Company, *, today: dt.date) -> list[int]:
    """Month-end transition for one company: Leaving planned becomes Left on the first day after
    the last working month (SPEC §4.3). Idempotent; returns the ids that changed."""
    first_of_month = Month.of(today).first_day
    with transaction.atomic():
        # The query only narrows (index on company, status); the rule decides.
        candidates = (
            Employee.objects.select_for_update()
            .filter(
                company=company,
                status=EmployeeStatus.LEAVING,
                last_working_month__lt=first_of_month,
            )
            .values_list("pk", "last_working_month")
        )
        due = [pk for pk, lwm in candidates if lwm and rules.has_left(Month.of(lwm), today)]
        if due:
            Employee.objects.filter(pk__in=due).update(
                status=EmployeeStatus.LEFT, left_at=timezone.now(), updated_at=timezone.now()
            )
            audit.record("employee.left", company=company, actor=None, target="", employees=due)
    return due


@transaction.atomic
def do_terminate_now(employee: Employee, *, today: dt.date, acting_user: User | None) -> Employee:
    """Immediate termination by the HR admin (SPEC §4.5): only without a voucher selected for the
    current month; the employee is Left at once and every benefit ends now."""
    current = Month.of(today)
    employee = Employee.objects.select_for_update().get(pk=employee.pk)
    blocking = VoucherSelection.objects.filter(employee=employee, month=current.first_day).first()
    rules.require(
        rules.Action.TERMINATE_NOW,
        status=employee.status,
        today=today,
        has_voucher_this_month=blocking is not None,
    )
    employee.status = EmployeeStatus.LEFT
    employee.left_at = timezone.now()
    employee.last_working_month = current.previous().first_day
    employee.save(update_fields=["status", "left_at", "last_working_month", "updated_at"])
    benefit_services.end_benefits_now(employee, current)
    audit.record(
        "employee.terminate_now",
        company=employee.company,
        actor=acting_user,
        target=f"employee:{employee.pk}",
    )
    return employee


# --- the sync's bulk changes -----------------------------------------------------------------
# The same lifecycle as the do_* functions above, for thousands of employees at once: each runs in
# the caller's transaction (the sync applies a whole plan in one) and writes one audit event per
# call naming the employees, with `actor=None` (the system).


def _audit_bulk(company: Company, action: str, ids: Iterable[int], **details: Any) -> None:
    ids = sorted(ids)
    if ids:
        audit.record(action, company=company, actor=None, target="", employees=ids, **details)


def sync_create_employees(company: Company, rows: list[dict[str, Any]]) -> dict[int, int]:
    """Insert employees an HR system delivered (fast path: a first sync creates thousands);
    returns their HR-system ID → employee id. Each row holds `personio_id`, `status`,
    `last_working_month` (a Month or None) and the master data fields, already validated."""
    if not rows:
        return {}
    fast_insert(
        Employee,
        (
            {
                **row,
                "company_id": company.pk,
                "source": EmployeeSource.PERSONIO,
                "last_working_month": None
                if row["last_working_month"] is None
                else row["last_working_month"].first_day,
            }
            for row in rows
        ),
    )
    created = ids_by_personio_id(company, [row["personio_id"] for row in rows])
    _audit_bulk(company, "employee.sync_create", created.values())
    return created


def ids_by_personio_id(company: Company, personio_ids: list[int]) -> dict[int, int]:
    """Personio ID → employee id for those of `personio_ids` the company has."""
    if not personio_ids:
        return {}
    rows = (
        Employee.objects.filter(company=company, personio_id__in=among(personio_ids))
        .order_by()  # no ORDER BY: the (company, personio_id) index serves the lookup
        .values_list("personio_id", "pk")
    )
    return {pid: pk for pid, pk in rows if pid is not None}


def sync_update_employees(
    company: Company, changes: dict[int, tuple[dict[str, Any], int | None]]
) -> set[int]:
    """Master data from the HR system: employee id → (field → new value, HR-system ID to link
    or None). Never lifecycle fields."""
    if not changes:
        return set()
    employees = Employee.objects.select_for_update().in_bulk(list(changes))
    fields: set[str] = {"updated_at"}
    now = timezone.now()
    for pk, (values, link) in changes.items():
        employee = employees[pk]
        for name, value in values.items():
            setattr(employee, name, value)
            fields.add(name)
        if link is not None:
            employee.personio_id = link
            employee.source = EmployeeSource.PERSONIO
            fields.update({"personio_id", "source"})
        employee.updated_at = now
    Employee.objects.bulk_update(list(employees.values()), sorted(fields), batch_size=500)
    _audit_bulk(company, "employee.sync_update", employees)
    return set(employees)


def sync_mark_leaving(company: Company, months: dict[int, Month]) -> None:
    """Leaving planned (or a moved last working month): employee id → last working month,
    already computed by the leaving rules. Every benefit ends with that month."""
    by_month: dict[Month, list[int]] = {}
    for employee_id, month in months.items():
        by_month.setdefault(month, []).append(employee_id)
    now = timezone.now()
    for month, ids in by_month.items():
        Employee.objects.filter(pk__in=ids).update(
            status=EmployeeStatus.LEAVING, last_working_month=month.first_day, updated_at=now
        )
        benefit_services.end_benefits_for_leaving(ids, month)
        _audit_bulk(company, "employee.mark_leaving", ids, last_working_month=str(month))


def sync_undo_leaving(company: Company, employee_ids: list[int]) -> None:
    """The leaving date was removed in the HR system: Active again, leaving-rule ends undone."""
    if not employee_ids:
        return
    Employee.objects.filter(pk__in=employee_ids, status=EmployeeStatus.LEAVING).update(
        status=EmployeeStatus.ACTIVE, last_working_month=None, updated_at=timezone.now()
    )
    benefit_services.undo_leaving_ends(employee_ids)
    _audit_bulk(company, "employee.undo_leaving", employee_ids)


def sync_flag_missing(company: Company, employee_ids: list[int], *, missing: bool) -> None:
    """Flag employees the HR system no longer delivers (never deleted), or clear the flag."""
    if not employee_ids:
        return
    now = timezone.now()
    Employee.objects.filter(pk__in=employee_ids).update(
        missing_from_personio=missing, missing_since=now if missing else None, updated_at=now
    )
    _audit_bulk(company, "employee.flag_missing" if missing else "employee.unflag", employee_ids)


def sync_set_problems(
    company: Company,
    problems: dict[int, dict[str, Any]],
    *,
    complete: bool,
    read: Collection[int] = (),
) -> None:
    """Record why the sync could not take some employees' records (employee id → note). A
    `complete` run saw every record, so everybody else's earlier problem is solved; a partial
    run solves those of the Personio IDs it `read`."""
    solved = Employee.objects.filter(company=company, sync_problem__isnull=False).exclude(
        pk__in=list(problems)
    )
    if complete:
        solved.update(sync_problem=None)
    elif read:
        solved.filter(personio_id__in=among(list(read))).update(sync_problem=None)
    Employee.objects.bulk_update(
        [Employee(pk=pk, sync_problem=problem) for pk, problem in problems.items()],
        ["sync_problem"],
        batch_size=500,
    )


# --- erased people (GDPR): never re-created by a sync -------------------------------------------


def _erasure_digests(company_id: int, personio_id: int) -> list[str]:
    return crypto.keyed_digests(f"erased:{company_id}:personio:{personio_id}")


def erased_personio_ids(company: Company) -> Callable[[int], dt.date | None] | None:
    """When the company's employee with this Personio ID was erased (None: not erased); None
    instead of a function when nobody was, so a sync costs nothing extra then."""
    erased = dict(ErasedPerson.objects.filter(company=company).values_list("digest", "erased_on"))
    if not erased:
        return None

    def erased_on(personio_id: int) -> dt.date | None:
        for digest in _erasure_digests(company.pk, personio_id):
            if digest in erased:
                return erased[digest]
        return None

    return erased_on


@transaction.atomic
def do_allow_personio_id_again(
    company: Company, personio_id: int, *, acting_user: User | None
) -> bool:
    """Lift the erasure block for one Personio ID: the next sync creates the person again.
    False when that ID was not blocked."""
    deleted, _ = ErasedPerson.objects.filter(
        company=company, digest__in=_erasure_digests(company.pk, personio_id)
    ).delete()
    if deleted:
        audit.record(
            "employee.erasure_lifted",
            company=company,
            actor=acting_user,
            target=f"personio:{personio_id}",
        )
    return bool(deleted)


def _scrub(value: Any, needles: list[str]) -> Any:
    """`value` (JSON) with every string that mentions one of `needles` replaced."""
    if isinstance(value, str):
        low = value.lower()
        return "[erased]" if any(n in low for n in needles) else value
    if isinstance(value, list):
        return [_scrub(v, needles) for v in value]
    if isinstance(value, dict):
        return {k: _scrub(v, needles) for k, v in value.items()}
    return value


@transaction.atomic
def do_delete_employee(employee: Employee, *, acting_user: User | None) -> None:
    """GDPR erasure of one employee (SPEC §6).

    Deleted: the Employee row and everything cascading from it (benefits, vouchers, receipts,
    invitations; other apps scrub their traces in a `pre_delete` receiver, so this deletes through
    the ORM), receipt files (after commit), queued and sent e-mails to the address. The login is
    anonymised and deactivated (its id stays so audit events keep their actor id); a login that is
    also an HR admin or support account is only unlinked. Audit events about the person keep ids
    only. The anonymous `benefits.MonthlyTotal` rows are untouched, so the books do not change.
    """
    from django.contrib.admin.models import LogEntry
    from django.contrib.contenttypes.models import ContentType
    from django.db.models import TextField
    from django.db.models.functions import Cast

    from benefitsync.audit.models import AuditEvent
    from benefitsync.benefits.models import Receipt
    from benefitsync.invitations.models import OutboundEmail

    employee = (
        Employee.objects.select_for_update(of=("self",))
        .select_related("company", "user")
        .get(pk=employee.pk)
    )
    company = employee.company
    pk = employee.pk
    user = employee.user
    addresses = {a.lower() for a in (employee.email, user.email if user else "") if a}
    # Very short names would match unrelated text; the full name and address still catch them.
    needles = sorted(
        {
            n.lower()
            for n in (employee.full_name, employee.first_name, employee.last_name)
            if len(n) >= 3
        }
        | addresses
    )
    files = [
        name
        for name in Receipt.objects.filter(employee=employee).values_list("file", flat=True)
        if name
    ]

    # E-mails: the invitation outbox rows by key, and anything else addressed to the person.
    outbox = OutboundEmail.objects.filter(key__startswith=f"invite:{pk}:")
    for address in addresses:
        outbox = outbox | OutboundEmail.objects.filter(to__iexact=address)
    outbox.delete()

    # Django admin history names the object in `object_repr`.
    LogEntry.objects.filter(
        content_type=ContentType.objects.get_for_model(Employee), object_id=str(pk)
    ).update(object_repr=f"employee #{pk}", change_message="")

    if employee.personio_id is not None:
        # The HR system may still deliver the person: remember that they were erased (without
        # keeping who), so no sync creates or invites them again.
        ErasedPerson.objects.get_or_create(
            company=company,
            digest=_erasure_digests(company.pk, employee.personio_id)[0],
            defaults={"erased_on": company_today(company)},
        )

    employee.delete()

    if user is not None:
        if user.is_staff or user.memberships.exists():
            pass  # the person's other role keeps its login; only the link went with the row
        else:
            user.email = f"erased-{user.pk}@invalid"
            user.first_name = ""
            user.last_name = ""
            user.is_active = False
            user.set_unusable_password()
            user.save()

    # Audit events: those about the person keep their ids only; any other event of the company
    # that mentions the name or address (say, in free text) loses that text. JSON may store
    # non-ASCII escaped, so both spellings are searched.
    about = AuditEvent.objects.filter(company=company, target=f"employee:{pk}")
    about.update(details={})
    mentions = AuditEvent.objects.annotate(text=Cast("details", TextField())).filter(
        company=company
    )
    query = None
    for needle in needles:
        for spelling in {needle, json.dumps(needle)[1:-1]}:
            q = Q(text__icontains=spelling) | Q(target__icontains=spelling)
            query = q if query is None else query | q
    if query is not None:
        for event in mentions.filter(query):
            event.details = _scrub(event.details, needles)
            if any(n in event.target.lower() for n in needles):
                event.target = ""
            event.save(update_fields=["details", "target"])

    audit.record("employee.delete", company=company, actor=acting_user, target=f"employee:{pk}")

    def delete_files() -> None:
        for name in files:
            default_storage.delete(name)

    transaction.on_commit(delete_files)
