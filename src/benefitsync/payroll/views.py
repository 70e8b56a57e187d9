"""The HR admin's payroll pages: the month's figures, export (download), month close, settings.

Every change goes through `payroll.services`; a refusal is shown with its reason.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _

from benefitsync.accounts import access
from benefitsync.companies.models import Company
from benefitsync.companies.views import acting_user
from benefitsync.employees.services import company_today
from benefitsync.lib.months import Month
from benefitsync.payroll import labels, services
from benefitsync.payroll.forms import ExportForm, MonthForm, PayrollSettingsForm
from benefitsync.payroll.models import ExportFormat, PayrollExport
from benefitsync.payroll.statutory import NoStatutoryValues, values_for

# A large company's month has tens of thousands of lines: the page shows the first ones and the
# totals of all; the file has every line.
PAGE_ROWS = 500
PAGE_PROBLEMS = 50


def _overview(company: Company, month: Month | None = None) -> HttpResponse:
    url = reverse("payroll:overview", kwargs={"slug": company.slug})
    return redirect(f"{url}?month={month}" if month else url)


def _default_month(company: Company) -> Month:
    closed = services.closed_months(company)
    return services.first_open_month(closed) or Month.of(company_today(company))


def file_response(export: PayrollExport) -> HttpResponse:
    """The stored file, byte for byte as it was first handed out."""
    content_type = (
        "text/csv; charset=utf-8"
        if export.format == ExportFormat.CSV
        else "text/plain; charset=windows-1252"
    )
    response = HttpResponse(bytes(export.content), content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{export.filename}"'
    response["X-Checksum-SHA256"] = export.checksum
    return response


@access.hr_admin("GET")
def overview(request: HttpRequest, slug: str) -> HttpResponse:
    company = access.company_of(request)
    today = company_today(company)
    form = MonthForm(request.GET if "month" in request.GET else None)
    month = form.cleaned_data["month"] if form.is_valid() else _default_month(company)
    settings = services.settings_for(company)
    error = ""
    rows: list[dict[str, object]] = []
    problems: list[str] = []
    totals: dict[str, Decimal] = defaultdict(Decimal)
    view = None
    try:
        view = services.month_view(company, month)
    except services.PayrollRefused as refused:
        error = str(refused)
    if view is not None:
        document = services.statement(company, view)
        lodas = bool(settings.consultant_number)
        problems = [problem.message() for problem in document.problems(lodas=lodas)]
        for index, line in enumerate(view.lines):
            totals[labels.treatment(line.treatment)] += line.amount
            if index >= PAGE_ROWS:
                continue
            rows.append(
                {
                    "line": line,
                    "kind": labels.kind(line.kind),
                    "treatment": labels.treatment(line.treatment),
                    "wage_type": document.wage_type(line),
                    "flags": [labels.flag(flag) for flag in line.flags],
                }
            )
    try:
        values = values_for(month)
    except NoStatutoryValues:
        values = None
    return render(
        request,
        "payroll/overview.html",
        {
            "month": month,
            "previous": month.previous(),
            "next": month.next(),
            "view": view,
            "rows": rows,
            "totals": sorted(totals.items()),
            "problems": problems[:PAGE_PROBLEMS],
            "more_problems": max(0, len(problems) - PAGE_PROBLEMS),
            "more_rows": max(0, len(view.lines) - PAGE_ROWS) if view else 0,
            "error": error,
            "settings": settings,
            "close_refusal": services.close_refusal(company, month, today=today, settings=settings)
            if view is not None and view.closed is None
            else "",
            "export_form": ExportForm(initial={"month": month}),
            "exports": PayrollExport.objects.filter(company=company)
            .defer("content")
            .select_related("created_by")[:20],
            "values": values,
        },
    )


@access.hr_admin("POST")
def export(request: HttpRequest, slug: str) -> HttpResponse:
    """Record an export and hand out its file."""
    company = access.company_of(request)
    form = ExportForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Please choose a month and a format."))
        return _overview(company)
    month: Month = form.cleaned_data["month"]
    try:
        record = services.do_export(
            company, month, form.cleaned_data["format"], acting_user=acting_user(request)
        )
    except services.PayrollRefused as refused:
        messages.error(request, str(refused))
        return _overview(company, month)
    return file_response(record)


@access.hr_admin("GET")
def download(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    """An earlier export again, unchanged."""
    company = access.company_of(request)
    return file_response(get_object_or_404(PayrollExport, company=company, pk=pk))


@access.hr_admin("POST")
def close(request: HttpRequest, slug: str) -> HttpResponse:
    company = access.company_of(request)
    form = MonthForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Please choose a month."))
        return _overview(company)
    month: Month = form.cleaned_data["month"]
    try:
        services.do_close_month(
            company, month, today=company_today(company), acting_user=acting_user(request)
        )
    except services.PayrollRefused as refused:
        messages.error(request, str(refused))
    else:
        messages.success(
            request,
            _("%(month)s is closed. Later changes to it go into the next month as corrections.")
            % {"month": month},
        )
    return _overview(company, month)


@access.hr_admin("GET", "POST")
def settings(request: HttpRequest, slug: str) -> HttpResponse:
    company = access.company_of(request)
    current = services.settings_for(company)
    form = PayrollSettingsForm(
        request.POST if request.method == "POST" else None,
        initial=PayrollSettingsForm.initial_from(current),
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        services.do_update_settings(
            company,
            consultant_number=data["consultant_number"],
            client_number=data["client_number"],
            cutoff_day=data["cutoff_day"],
            wage_types=form.wage_types(),
            acting_user=acting_user(request),
        )
        messages.success(request, _("The payroll settings were saved."))
        return _overview(company)
    return render(request, "payroll/settings.html", {"form": form})
