"""The employee's own pages under /me/: benefits, voucher selection and redemption, receipts.

Every page is `accounts.access.employee` (404 for anyone else) and every change
goes through the benefit services, which ask `employees.rules.check`; a refusal is shown as the
rule's reason.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _

from benefitsync.accounts import access
from benefitsync.benefits.models import (
    REIMBURSEMENT_TYPES,
    EmployeeBenefit,
    Receipt,
    VoucherSelection,
)
from benefitsync.benefits.receipts import do_submit_receipt, max_bytes
from benefitsync.benefits.vouchers import (
    VOUCHER_PROVIDERS,
    do_redeem_voucher,
    do_select_voucher,
    provider_name,
    selectable_months,
)
from benefitsync.companies.views import acting_user
from benefitsync.employee_area.forms import ReceiptForm, VoucherSelectForm
from benefitsync.employees import rules
from benefitsync.employees.models import Employee
from benefitsync.employees.services import ActionRefused, company_today
from benefitsync.lib.months import Month


@dataclass(frozen=True)
class VoucherRow:
    selection: VoucherSelection
    provider: str
    can_redeem: bool
    reason: str


def _voucher_rows(employee: Employee, today: dt.date) -> list[VoucherRow]:
    rows = []
    for selection in VoucherSelection.objects.filter(employee=employee).order_by("-month"):
        decision = rules.check(
            rules.Action.REDEEM_VOUCHER,
            status=employee.status,
            today=today,
            month=Month.of(selection.month),
        )
        rows.append(
            VoucherRow(
                selection=selection,
                provider=provider_name(selection.provider),
                can_redeem=bool(
                    decision and selection.issued_at is not None and selection.redeemed_at is None
                ),
                reason=decision.reason,
            )
        )
    return rows


@access.employee("GET")
def home(request: HttpRequest) -> HttpResponse:
    """The employee's page: status, benefits, this month's voucher, vouchers to redeem."""
    employee = access.employee_of(request)
    today = company_today(employee.company)
    current = Month.of(today)
    benefits = list(EmployeeBenefit.objects.filter(employee=employee))
    months = selectable_months(employee, today)
    select_decision = rules.check(
        rules.Action.SELECT_VOUCHER,
        status=employee.status,
        today=today,
        last_month=employee.lwm,
        month=current,
    )
    vouchers = _voucher_rows(employee, today)
    this_month = next((v for v in vouchers if Month.of(v.selection.month) == current), None)
    return render(
        request,
        "employee_area/home.html",
        {
            "employee": employee,
            "today": today,
            "current": current,
            "benefits": [(b, b.is_active_in(current), b.state_in(current)) for b in benefits],
            "selectable_months": [str(m) for m in months],
            "providers": list(VOUCHER_PROVIDERS.items()),
            "select_refusal": "" if select_decision else select_decision.reason,
            "this_month": this_month,
            "vouchers": vouchers,
        },
    )


@access.employee("POST")
def select_voucher(request: HttpRequest) -> HttpResponse:
    employee = access.employee_of(request)
    form = VoucherSelectForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Please choose a month and a voucher."))
        return redirect("employee_area:home")
    month: Month = form.cleaned_data["month"]
    try:
        do_select_voucher(
            employee,
            month=month,
            provider=form.cleaned_data["provider"],
            today=company_today(employee.company),
            acting_user=acting_user(request),
        )
    except ActionRefused as refusal:
        messages.error(request, str(refusal))
    else:
        messages.success(
            request,
            _("Your voucher for %(month)s: %(provider)s.")
            % {"month": str(month), "provider": provider_name(form.cleaned_data["provider"])},
        )
    return redirect("employee_area:home")


@access.employee("POST")
def redeem_voucher(request: HttpRequest, pk: int) -> HttpResponse:
    employee = access.employee_of(request)
    selection = get_object_or_404(VoucherSelection, pk=pk, employee=employee)
    try:
        do_redeem_voucher(
            selection, today=company_today(employee.company), acting_user=acting_user(request)
        )
    except ActionRefused as refusal:
        messages.error(request, str(refusal))
    else:
        messages.success(request, _("Voucher marked as redeemed."))
    return redirect("employee_area:home")


@access.employee("GET", "POST")
def receipts(request: HttpRequest) -> HttpResponse:
    """Receipts: the list with their status, and the upload form (POST)."""
    employee = access.employee_of(request)
    today = company_today(employee.company)
    current = Month.of(today)
    form = ReceiptForm()
    status = 200
    if request.method == "POST":
        form = ReceiptForm(request.POST, request.FILES)
        if form.is_valid():
            benefit = EmployeeBenefit.objects.filter(
                pk=form.cleaned_data["benefit"], employee=employee
            ).first()
            try:
                if benefit is None:
                    raise ActionRefused(_("This benefit is not reimbursed against receipts."))
                do_submit_receipt(
                    employee,
                    benefit=benefit,
                    month=form.cleaned_data["month"],
                    amount=form.cleaned_data["amount"],
                    upload=form.cleaned_data["file"],
                    today=today,
                    acting_user=acting_user(request),
                )
            except ActionRefused as refusal:
                messages.error(request, str(refusal))
                status = 409
            else:
                messages.success(request, _("Receipt submitted."))
                return redirect("employee_area:receipts")
        else:
            status = 400
    decision = rules.check(
        rules.Action.SUBMIT_RECEIPT,
        status=employee.status,
        today=today,
        last_month=employee.lwm,
        month=current,
    )
    reimbursable = [
        b
        for b in EmployeeBenefit.objects.filter(employee=employee, kind__in=REIMBURSEMENT_TYPES)
        if b.is_active_in(current) or b.is_active_in(current.previous())
    ]
    return render(
        request,
        "employee_area/receipts.html",
        {
            "employee": employee,
            "form": form,
            "current": current,
            "months": [str(current), str(current.previous())],
            "benefits": reimbursable,
            "submit_refusal": "" if decision else decision.reason,
            "receipts": Receipt.objects.filter(employee=employee).select_related("benefit"),
            "max_mb": max_bytes() // 2**20,
        },
        status=status,
    )
