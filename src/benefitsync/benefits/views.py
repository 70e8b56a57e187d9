"""Benefit pages of the employer portal: add, change and end an employee's benefit.

Every change goes through `benefits.services`; a refusal of the rules (Leaving planned, Left) is
shown as a message on the employee's page with the reason the rules gave.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _

from benefitsync.accounts import access
from benefitsync.benefits import services
from benefitsync.benefits.forms import BenefitChangeForm, BenefitEndForm, BenefitForm
from benefitsync.benefits.models import BenefitType, EmployeeBenefit
from benefitsync.companies.models import Company
from benefitsync.companies.views import acting_user
from benefitsync.employees import rules
from benefitsync.employees.models import Employee
from benefitsync.employees.services import ActionRefused, company_today
from benefitsync.lib.months import Month, month_label
from benefitsync.payroll.services import voucher_limit_warning


def _to_employee(company: Company, employee: Employee) -> HttpResponse:
    return redirect("employees:detail", slug=company.slug, pk=employee.pk)


def _refusal(company: Company, employee: Employee) -> str:
    """Why benefits of this employee cannot be configured now ("" when they can)."""
    return rules.check(
        rules.Action.CONFIGURE_BENEFIT,
        status=employee.status,
        today=company_today(company),
        last_month=employee.lwm,
    ).reason


def _company_benefit(company: Company, pk: int) -> EmployeeBenefit:
    return get_object_or_404(
        EmployeeBenefit.objects.select_related("employee"), company=company, pk=pk
    )


def _warn_about_voucher_limit(request: HttpRequest, benefit: EmployeeBenefit) -> None:
    """Vouchers over the monthly Freigrenze are allowed, but all of it becomes taxable: say so
    (a warning, never a refusal) for the benefit's first month still to come."""
    if benefit.kind != BenefitType.VOUCHER:
        return
    month = max(Month.of(benefit.start_month), Month.of(company_today(benefit.employee.company)))
    warning = voucher_limit_warning(benefit.employee, month)
    if warning:
        messages.warning(request, warning)


@access.hr_admin("GET", "POST")
def benefit_add(request: HttpRequest, slug: str, employee_id: int) -> HttpResponse:
    company = access.company_of(request)
    employee = get_object_or_404(Employee, company=company, pk=employee_id)
    refusal = _refusal(company, employee)
    if refusal:
        messages.error(request, refusal)
        return _to_employee(company, employee)
    today = company_today(company)
    form = BenefitForm(
        request.POST if request.method == "POST" else None, initial={"start_month": Month.of(today)}
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            benefit = services.do_add_benefit(
                employee,
                kind=data["kind"],
                monthly_amount=data["monthly_amount"],
                start_month=data["start_month"],
                end_month=data["end_month"],
                acting_user=acting_user(request),
                today=today,
            )
        except ActionRefused as refused:
            messages.error(request, str(refused))
        else:
            messages.success(request, _("%(benefit)s was added.") % {"benefit": benefit})
            _warn_about_voucher_limit(request, benefit)
        return _to_employee(company, employee)
    return render(
        request,
        "benefits/form.html",
        {"form": form, "employee": employee, "title": _("Add a benefit")},
    )


@access.hr_admin("GET", "POST")
def benefit_edit(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    company = access.company_of(request)
    benefit = _company_benefit(company, pk)
    employee = benefit.employee
    refusal = _refusal(company, employee)
    if refusal:
        messages.error(request, refusal)
        return _to_employee(company, employee)
    initial = {
        "monthly_amount": benefit.monthly_amount,
        "start_month": Month.of(benefit.start_month),
        "end_month": None if benefit.end_month is None else Month.of(benefit.end_month),
    }
    form = BenefitChangeForm(request.POST if request.method == "POST" else None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            benefit = services.do_change_benefit(
                benefit,
                monthly_amount=data["monthly_amount"],
                start_month=data["start_month"],
                end_month=data["end_month"],
                acting_user=acting_user(request),
                today=company_today(company),
            )
        except ActionRefused as refused:
            messages.error(request, str(refused))
        else:
            messages.success(request, _("The benefit was changed."))
            benefit.refresh_from_db()
            _warn_about_voucher_limit(request, benefit)
        return _to_employee(company, employee)
    return render(
        request,
        "benefits/form.html",
        {
            "form": form,
            "employee": employee,
            "benefit": benefit,
            "title": _("Change %(benefit)s") % {"benefit": benefit.get_kind_display()},
        },
    )


@access.hr_admin("GET", "POST")
def benefit_end(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    company = access.company_of(request)
    benefit = _company_benefit(company, pk)
    employee = benefit.employee
    refusal = _refusal(company, employee)
    if refusal:
        messages.error(request, refusal)
        return _to_employee(company, employee)
    today = company_today(company)
    form = BenefitEndForm(
        request.POST if request.method == "POST" else None, initial={"end_month": Month.of(today)}
    )
    # The browser's month picker offers no past month; the service refuses one anyway.
    form.fields["end_month"].widget.attrs["min"] = str(Month.of(today))
    if request.method == "POST" and form.is_valid():
        end_month: Month = form.cleaned_data["end_month"]
        try:
            services.do_end_benefit(
                benefit, end_month=end_month, acting_user=acting_user(request), today=today
            )
        except ActionRefused as refused:
            messages.error(request, str(refused))
        else:
            messages.success(
                request,
                _("The benefit ends at the end of %(month)s.") % {"month": month_label(end_month)},
            )
        return _to_employee(company, employee)
    return render(
        request,
        "benefits/end.html",
        {"form": form, "employee": employee, "benefit": benefit, "min_month": Month.of(today)},
    )
