"""The employee pages of the employer portal: list, detail, create and edit by hand.

Every view is `accounts.access.hr_admin` (404 for outsiders, see `company_of`) and
every queryset is filtered by that company.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, IntegerField, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from benefitsync.accounts import access
from benefitsync.benefits.models import EmployeeBenefit, EndReason, Receipt
from benefitsync.companies.models import Company
from benefitsync.companies.views import acting_user
from benefitsync.employees import rules
from benefitsync.employees.forms import EmployeeForm, EmployeeSearchForm
from benefitsync.employees.labels import value_label
from benefitsync.employees.models import (
    Employee,
    EmployeeSource,
    EmployeeStatus,
    InvitationState,
)
from benefitsync.employees.rules import PERSONIO_FIELDS
from benefitsync.employees.services import company_today, do_create_employee, do_update_employee
from benefitsync.integrations.personio.services import is_connected
from benefitsync.lib.months import Month, month_label

PAGE_SIZE = 50
# More words than this in a search are ignored: each word adds a condition over four columns.
MAX_SEARCH_TERMS = 5
LIST_FIELDS = (
    "id",
    "first_name",
    "last_name",
    "email",
    "personnel_number",
    "status",
    "last_working_month",
    "invitation_state",
    "missing_from_personio",
    "sync_problem",
    "source",
)
FORM_FIELDS = tuple(EmployeeForm.base_fields)
RECEIPTS_SHOWN = 10  # the latest on the employee's page; the inbox has them all


def personio_connected(company: Company) -> bool:
    """Is the company's Personio integration connected (Personio fields are then read-only)?"""
    return is_connected(company)


def readonly_fields(company: Company, employee: Employee | None) -> tuple[str, ...]:
    """The fields the portal must not change: those Personio delivers, for employees that come
    from Personio, while the integration is connected (SPEC §3). Hand-made employees stay
    editable until a sync links them."""
    if employee is None or not personio_connected(company):
        return ()
    if employee.source != EmployeeSource.PERSONIO and employee.personio_id is None:
        return ()
    return PERSONIO_FIELDS


# Filters of the list beside the status, as `?flag=`: key → (label, condition). Other areas add
# theirs here (e.g. a sync problem), so the tabs, the export and the bulk actions all know them.
LIST_FLAGS: dict[str, tuple[Any, Q]] = {
    "missing": (_lazy("No longer in Personio"), Q(missing_from_personio=True)),
    # The last sync could not take the employee's Personio record (`Employee.sync_problem`).
    "sync_problem": (_lazy("Sync problem"), Q(sync_problem__isnull=False)),
    "not_invited": (
        _lazy("Not invited"),
        Q(invitation_state=InvitationState.NOT_INVITED) & ~Q(status=EmployeeStatus.LEFT),
    ),
}

# Flags whose tab is shown only while it counts someone.
QUIET_FLAGS = frozenset({"sync_problem"})

# Sortable columns: `?sort=<key>` ascending, `?sort=-<key>` descending; ties by name and id.
SORTS: dict[str, tuple[str, ...]] = {
    "name": ("last_name", "first_name"),
    "personnel_number": ("personnel_number",),
    "email": ("email",),
    "status": ("status", "last_working_month"),
    "benefits": ("active_benefits",),
}


def has_editable_fields(readonly: tuple[str, ...]) -> bool:
    """Is any field of the edit form left for the portal to change?"""
    return any(name not in readonly for name in FORM_FIELDS)


def explanations(employee: Employee) -> list[str]:
    """The rules that bite for this employee now, in words (SPEC §4.2, §4.3, §6)."""
    texts: list[str] = []
    lwm = employee.lwm
    if employee.leaving_date and lwm and Month.of(employee.leaving_date) < lwm:
        texts.append(
            _(
                "The leaving date %(date)s lies in a month that had already passed when it "
                "reached the portal. Leaving is never backdated, so the last working month is "
                "%(month)s: benefits end with it."
            )
            % {
                "date": date_format(employee.leaving_date, "SHORT_DATE_FORMAT"),
                "month": month_label(lwm),
            }
        )
    if employee.status == EmployeeStatus.LEAVING and lwm:
        texts.append(
            _(
                "Until the end of %(month)s the employee can still choose vouchers and submit "
                "receipts for months up to %(month)s; no new benefits can be added. Afterwards "
                "they can only redeem vouchers of earlier months."
            )
            % {"month": month_label(lwm)}
        )
    elif employee.status == EmployeeStatus.LEFT:
        texts.append(
            _(
                "The employee has left: they can still log in and redeem vouchers of earlier "
                "months, but can neither choose vouchers nor submit receipts."
            )
        )
    return texts


def search_employees(
    company: Company, *, q: str = "", status: str = "", flag: str = ""
) -> QuerySet[Employee]:
    """The company's employees matching every word of `q` (in first or last name, e-mail or
    personnel number), `status` and `flag` (a key of LIST_FLAGS), in list order."""
    employees = Employee.objects.filter(company=company)
    if status:
        employees = employees.filter(status=status)
    if flag in LIST_FLAGS:
        employees = employees.filter(LIST_FLAGS[flag][1])
    for term in q.split()[:MAX_SEARCH_TERMS]:
        employees = employees.filter(
            Q(first_name__icontains=term)
            | Q(last_name__icontains=term)
            | Q(email__icontains=term)
            | Q(personnel_number__icontains=term)
        )
    return employees


def sorted_by(employees: QuerySet[Employee], sort: str) -> QuerySet[Employee]:
    key = sort.removeprefix("-")
    if key not in SORTS:
        return employees
    prefix = "-" if sort.startswith("-") else ""
    return employees.order_by(
        *(prefix + field for field in SORTS[key]), "last_name", "first_name", "id"
    )


@dataclass(frozen=True)
class ListQuery:
    q: str
    status: str
    flag: str
    sort: str


def list_query(request: HttpRequest) -> ListQuery:
    """The list's filters from the query string (invalid values mean "everything")."""
    form = EmployeeSearchForm(request.GET)
    q = status = ""
    if form.is_valid():
        q = form.cleaned_data["q"].strip()
        status = form.cleaned_data["status"]
    flag = request.GET.get("flag", "")
    sort = request.GET.get("sort", "")
    return ListQuery(
        q=q,
        status=status,
        flag=flag if flag in LIST_FLAGS else "",
        sort=sort if sort.removeprefix("-") in SORTS else "",
    )


def _with_active_benefit_count(employees: QuerySet[Employee], month: Month) -> QuerySet[Employee]:
    # A correlated subquery, not a JOIN + GROUP BY: the database evaluates it only for the rows of
    # the page after LIMIT, so a page costs the same with 50 or 20,000 employees.
    day = month.first_day
    active = (
        EmployeeBenefit.objects.filter(employee=OuterRef("pk"), start_month__lte=day)
        .filter(Q(end_month__isnull=True) | Q(end_month__gte=day))
        .order_by()
        .values("employee")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return employees.annotate(
        active_benefits=Coalesce(
            Subquery(active, output_field=IntegerField()), Value(0), output_field=IntegerField()
        )
    )


@access.hr_admin("GET")
def employee_list(request: HttpRequest, slug: str) -> HttpResponse:
    company = access.company_of(request)
    form = EmployeeSearchForm(request.GET)
    query = list_query(request)
    today = company_today(company)
    employees = sorted_by(
        _with_active_benefit_count(
            search_employees(company, q=query.q, status=query.status, flag=query.flag).only(
                *LIST_FIELDS
            ),
            Month.of(today),
        ),
        query.sort,
    )
    page = Paginator(employees, PAGE_SIZE).get_page(request.GET.get("page"))
    counts = Employee.objects.filter(company=company).aggregate(
        all=Count("pk"),
        **{value: Count("pk", filter=Q(status=value)) for value in EmployeeStatus.values},
        **{
            f"flag_{key}": Count("pk", filter=condition)
            for key, (_l, condition) in LIST_FLAGS.items()
        },
    )
    tabs = [("", "", _("All"), counts["all"])] + [
        (value, "", label, counts[value]) for value, label in EmployeeStatus.choices
    ]
    tabs += [
        ("", key, label, counts[f"flag_{key}"])
        for key, (label, _c) in LIST_FLAGS.items()
        # Sync problems are rare: their tab shows only while there are some (or it is chosen).
        if key not in QUIET_FLAGS or counts[f"flag_{key}"] or query.flag == key
    ]
    columns = [
        (key, label, query.sort.removeprefix("-") == key, query.sort.startswith("-"))
        for key, label in (
            ("name", _("Name")),
            ("personnel_number", _("Personnel number")),
            ("email", _("E-mail")),
            ("status", _("Status")),
            ("benefits", _("Active benefits")),
        )
    ]
    return render(
        request,
        "employees/list.html",
        {
            "form": form,
            "page": page,
            "q": query.q,
            "status": query.status,
            "flag": query.flag,
            "sort": query.sort,
            "tabs": tabs,
            "columns": columns,
            "filtered": bool(query.q or query.status or query.flag),
        },
    )


@dataclass(frozen=True)
class BenefitRow:
    benefit: EmployeeBenefit
    state: str
    active_now: bool


@access.hr_admin("GET")
def employee_detail(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    company = access.company_of(request)
    employee = get_object_or_404(Employee, company=company, pk=pk)
    today = company_today(company)
    current = Month.of(today)
    rows = [
        BenefitRow(benefit, benefit.state_in(current), benefit.is_active_in(current))
        for benefit in EmployeeBenefit.objects.filter(company=company, employee=employee)
    ]
    decision = rules.check(
        rules.Action.CONFIGURE_BENEFIT, status=employee.status, today=today, last_month=employee.lwm
    )
    readonly = readonly_fields(company, employee)
    return render(
        request,
        "employees/detail.html",
        {
            "employee": employee,
            "benefit_rows": rows,
            "can_configure": decision.allowed,
            "configure_refusal": decision.reason,
            # No "Edit" for a page on which nothing can be changed (every field from Personio).
            "can_edit": has_editable_fields(readonly),
            "explanations": explanations(employee),
            "receipts": list(
                Receipt.objects.filter(employee=employee).select_related("benefit")[:RECEIPTS_SHOWN]
            ),
            "personio_status": value_label("personio_status", employee.personio_status),
            "personio_connected": personio_connected(company),
            "readonly": readonly,
            "leaving_end_reason": EndReason.LEAVING,
        },
    )


def _form_errors_from(form: EmployeeForm, error: ValidationError) -> None:
    """Show a model validation error of a service on the form (field errors where they belong)."""
    if hasattr(error, "error_dict"):
        for field, errors in error.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, error)


@access.hr_admin("GET", "POST")
def employee_create(request: HttpRequest, slug: str) -> HttpResponse:
    company = access.company_of(request)
    form = EmployeeForm(request.POST if request.method == "POST" else None, company=company)
    if request.method == "POST" and form.is_valid():
        try:
            employee = do_create_employee(
                company, acting_user=acting_user(request), **form.cleaned_data
            )
        except ValidationError as error:
            _form_errors_from(form, error)
        else:
            messages.success(request, _("%(name)s was created.") % {"name": employee.full_name})
            return redirect("employees:detail", slug=company.slug, pk=employee.pk)
    return render(request, "employees/form.html", {"form": form, "employee": None})


@access.hr_admin("GET", "POST")
def employee_edit(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    company = access.company_of(request)
    employee = get_object_or_404(Employee, company=company, pk=pk)
    readonly = readonly_fields(company, employee)
    initial = {name: getattr(employee, name) for name in FORM_FIELDS}
    form = EmployeeForm(
        request.POST if request.method == "POST" else None,
        initial=initial,
        company=company,
        employee_id=employee.pk,
        readonly=readonly,
    )
    if request.method == "POST" and form.is_valid():
        cleaned = form.cleaned_data
        changes = {name: cleaned[name] for name in form.changed_data if name not in readonly}
        try:
            if changes:
                do_update_employee(employee, changes, acting_user=acting_user(request))
        except ValidationError as error:
            _form_errors_from(form, error)
        else:
            messages.success(request, _("The changes were saved."))
            return redirect("employees:detail", slug=company.slug, pk=employee.pk)
    return render(
        request,
        "employees/form.html",
        {
            "form": form,
            "employee": employee,
            "readonly": readonly,
            "can_save": has_editable_fields(readonly),
        },
    )
