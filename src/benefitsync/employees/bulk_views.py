"""The employee list's export and bulk actions: CSV of the filtered list, invite the selected,
add one benefit to the selected. Each person goes through the same service as a single action
(`invitations.services.do_invite`, `benefits.services.do_add_benefit`), in its own transaction:
one refusal does not undo the others, and the page says who was refused and why."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from benefitsync.accounts import access
from benefitsync.benefits.forms import BenefitForm
from benefitsync.benefits.services import do_add_benefit
from benefitsync.companies.models import Company
from benefitsync.companies.views import acting_user
from benefitsync.employees.models import Employee, InvitationState
from benefitsync.employees.services import ActionRefused, company_today
from benefitsync.employees.views import list_query, search_employees, sorted_by
from benefitsync.invitations.services import InvitationRefused, do_invite
from benefitsync.lib.months import Month, month_label

MAX_BULK = 500


class _Echo:
    """A file-like object whose write returns the line, for streaming csv rows."""

    def write(self, value: str) -> str:
        return value


def _csv_rows(employees: Any) -> Iterator[str]:
    writer = csv.writer(_Echo(), delimiter=";")
    # A BOM first: Excel then reads the file as UTF-8 (umlauts); `;` is the list separator
    # German Excel expects, so the columns open split without the import wizard.
    yield "\ufeff"
    yield writer.writerow(
        [
            _("Last name"),
            _("First name"),
            _("Personnel number"),
            _("E-mail"),
            _("Status"),
            _("Last working month"),
            _("Invitation"),
            _("No longer in Personio"),
            _("Hire date"),
            _("Leaving date"),
        ]
    )
    for e in employees.iterator(chunk_size=2000):
        yield writer.writerow(
            [
                _cell(e.last_name),
                _cell(e.first_name),
                _cell(e.personnel_number),
                _cell(e.email),
                e.get_status_display(),
                month_label(Month.of(e.last_working_month)) if e.last_working_month else "",
                e.get_invitation_state_display(),
                _("yes") if e.missing_from_personio else "",
                date_format(e.hire_date, "SHORT_DATE_FORMAT") if e.hire_date else "",
                date_format(e.leaving_date, "SHORT_DATE_FORMAT") if e.leaving_date else "",
            ]
        )


def _cell(value: str) -> str:
    # A cell starting with = + - @ would run as a formula in Excel (CSV injection): quote it.
    return "'" + value if value[:1] in {"=", "+", "-", "@", "\t", "\r"} else value


@access.hr_admin("GET")
def export(request: HttpRequest, slug: str) -> StreamingHttpResponse:
    """The list as filtered and sorted on the page, every page, as CSV for Excel (streamed)."""
    company = access.company_of(request)
    query = list_query(request)
    employees = sorted_by(
        search_employees(company, q=query.q, status=query.status, flag=query.flag), query.sort
    )
    if query.sort.removeprefix("-") == "benefits":
        employees = employees.order_by("last_name", "first_name", "id")  # not computed here
    response = StreamingHttpResponse(_csv_rows(employees), content_type="text/csv; charset=utf-8")
    day = company_today(company).isoformat()
    response["Content-Disposition"] = f'attachment; filename="employees-{company.slug}-{day}.csv"'
    return response


def _selected(request: HttpRequest, company: Company) -> list[Employee]:
    ids = [int(v) for v in request.POST.getlist("employee") if v.isdigit()][:MAX_BULK]
    return list(Employee.objects.filter(company=company, pk__in=ids))


@access.hr_admin("POST")
def bulk(request: HttpRequest, slug: str) -> HttpResponse:
    """Step 1 shows what will happen to the selected employees; step 2 (confirm) does it."""
    company = access.company_of(request)
    employees = _selected(request, company)
    action = request.POST.get("action", "")
    if not employees or action not in {"invite", "add_benefit"}:
        messages.error(request, _("Please select employees and an action."))
        return redirect("employees:list", slug=company.slug)
    confirmed = request.POST.get("confirm") == "1"
    if action == "invite":
        return _bulk_invite(request, company, employees, confirmed=confirmed)
    return _bulk_add_benefit(request, company, employees, confirmed=confirmed)


def _invite_problem(employee: Employee) -> str:
    if not employee.email:
        return _("no e-mail address")
    if employee.user_id is not None or employee.invitation_state == InvitationState.SIGNED_UP:
        return _("already signed up")
    if employee.status == "left":
        return _("has left")
    return ""


def _bulk_invite(
    request: HttpRequest, company: Company, employees: list[Employee], *, confirmed: bool
) -> HttpResponse:
    rows = [(e, _invite_problem(e)) for e in employees]
    if not confirmed:
        return render(
            request,
            "employees/bulk_invite.html",
            {"rows": rows, "ready": [e for e, problem in rows if not problem]},
        )
    sent, refused = 0, 0
    for employee, problem in rows:
        if problem:
            refused += 1
            continue
        try:
            do_invite(
                employee,
                acting_user=acting_user(request),
                resend=employee.invitation_state == InvitationState.INVITED,
            )
        except InvitationRefused:
            refused += 1
        else:
            sent += 1
    messages.success(
        request,
        ngettext(
            "%(count)d invitation is on its way.", "%(count)d invitations are on their way.", sent
        )
        % {"count": sent},
    )
    if refused:
        messages.warning(
            request,
            ngettext(
                "%(count)d employee was not invited.",
                "%(count)d employees were not invited.",
                refused,
            )
            % {"count": refused},
        )
    return redirect("employees:list", slug=company.slug)


def _bulk_add_benefit(
    request: HttpRequest, company: Company, employees: list[Employee], *, confirmed: bool
) -> HttpResponse:
    today = company_today(company)
    form = BenefitForm(
        request.POST if confirmed else None, initial={"start_month": Month.of(today)}
    )
    refusals: list[tuple[Employee, str]] = []
    if confirmed and form.is_valid():
        data = form.cleaned_data
        added = 0
        for employee in employees:
            try:
                do_add_benefit(
                    employee,
                    kind=data["kind"],
                    monthly_amount=data["monthly_amount"],
                    start_month=data["start_month"],
                    end_month=data["end_month"],
                    acting_user=acting_user(request),
                    today=today,
                )
            except ActionRefused as error:
                refusals.append((employee, str(error)))
            else:
                added += 1
        if added:
            messages.success(
                request,
                ngettext(
                    "The benefit was added for %(count)d employee.",
                    "The benefit was added for %(count)d employees.",
                    added,
                )
                % {"count": added},
            )
        if not refusals:
            return redirect("employees:list", slug=company.slug)
        employees = [e for e, _reason in refusals]
    return render(
        request,
        "employees/bulk_benefit.html",
        {"form": form, "employees": employees, "refusals": refusals},
    )
