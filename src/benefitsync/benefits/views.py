"""Benefit pages of the employer portal: add, change and end an employee's benefit.

Every change goes through `benefits.services`; a refusal of the rules (Leaving planned, Left) is
shown as a message on the employee's page with the reason the rules gave.
"""

from __future__ import annotations

from decimal import Decimal

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.formats import number_format
from django.utils.translation import gettext as _

from benefitsync.benefits import services
from benefitsync.benefits.forms import BenefitChangeForm, BenefitEndForm, BenefitForm
from benefitsync.benefits.models import BenefitType, EmployeeBenefit
from benefitsync.companies.models import Company
from benefitsync.companies.views import acting_user, resolve_company
from benefitsync.employees import rules
from benefitsync.employees.models import Employee
from benefitsync.employees.services import ActionRefused, company_today
from benefitsync.lib.months import Month, month_label

# § 8 Abs. 2 Satz 11 EStG: non-cash benefits of a month are tax-free up to this sum (a
# Freigrenze: one cent more and all of it is taxable).
NON_CASH_LIMIT = Decimal("50.00")


def warn_non_cash_limit(request: HttpRequest, benefit: EmployeeBenefit) -> None:
    """Warn when a voucher's monthly amount is above the 50 € limit of non-cash benefits."""
    if benefit.kind == BenefitType.VOUCHER and benefit.monthly_amount > NON_CASH_LIMIT:
        messages.warning(
            request,
            _(
                "%(amount)s € a month is above the 50 € limit of non-cash benefits (§ 8 Abs. 2 "
                "Satz 11 EStG): the whole voucher becomes taxable income, not just the part "
                "above 50 €."
            )
            % {"amount": number_format(benefit.monthly_amount, 2)},
        )


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


@login_required
def benefit_add(request: HttpRequest, slug: str, employee_id: int) -> HttpResponse:
    company = resolve_company(request, slug)
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
            warn_non_cash_limit(request, benefit)
        return _to_employee(company, employee)
    return render(
        request,
        "benefits/form.html",
        {"form": form, "employee": employee, "title": _("Add a benefit")},
    )


@login_required
def benefit_edit(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    company = resolve_company(request, slug)
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
            services.do_change_benefit(
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
            warn_non_cash_limit(request, benefit)
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


@login_required
def benefit_end(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    company = resolve_company(request, slug)
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
