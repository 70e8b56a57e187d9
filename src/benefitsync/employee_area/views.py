"""The employee's own pages under /me/: benefits, voucher selection and redemption, receipts.

Every page is `accounts.access.employee` (404 for anyone else) and every change
goes through the benefit services, which ask `employees.rules.check`; a refusal is shown as the
rule's reason.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from benefitsync.accounts import access
from benefitsync.benefits.models import (
    REIMBURSEMENT_TYPES,
    EmployeeBenefit,
    Receipt,
    VoucherSelection,
)
from benefitsync.benefits.receipts import do_submit_receipt, max_bytes, remaining_allowance
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
from benefitsync.employees.models import Employee, EmployeeStatus
from benefitsync.employees.services import ActionRefused, company_today
from benefitsync.lib.months import Month, month_label


@dataclass(frozen=True)
class VoucherRow:
    selection: VoucherSelection
    provider: str
    can_redeem: bool
    reason: str
    due: str


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
                due=code_due(Month.of(selection.month), today),
            )
        )
    return rows


def status_line(employee: Employee, today: dt.date, voucher_months: list[Month]) -> str:
    """What the employee may still do, in one sentence addressed to them (SPEC §4.3, §6)."""
    lwm = employee.lwm
    if employee.status == EmployeeStatus.LEFT:
        return _(
            "You have left %(company)s. You can still redeem the vouchers of earlier months; "
            "new vouchers and receipts are no longer possible."
        ) % {"company": employee.company.name}
    if employee.status == EmployeeStatus.LEAVING and lwm is not None:
        if voucher_months:
            return _(
                "Leaving planned: your benefits end with %(month)s. You can still choose a "
                "voucher for %(months)s and submit receipts up to %(month)s."
            ) % {
                "month": month_label(lwm),
                "months": _join([month_label(m) for m in voucher_months]),
            }
        return _(
            "Leaving planned: your benefits end with %(month)s. You can still submit receipts up "
            "to %(month)s."
        ) % {"month": month_label(lwm)}
    return ""


def _join(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return _("%(first)s and %(last)s") % {"first": ", ".join(items[:-1]), "last": items[-1]}


def code_due(month: Month, today: dt.date) -> str:
    """When the code of a chosen voucher arrives. The hourly month-end job
    (`benefits.tasks.month_end_all_companies`, at :05) issues codes of this and earlier months:
    a choice for the running month gets its code within the hour, one for next month in the
    first hour of that month."""
    if month <= Month.of(today):
        return _("Your code arrives within the hour.")
    return _("Your code arrives on %(day)s, in the first hour of the month.") % {
        "day": date_format(month.first_day, "SHORT_DATE_FORMAT")
    }


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
    chosen = {Month.of(v.selection.month): v for v in vouchers}
    return render(
        request,
        "employee_area/home.html",
        {
            "employee": employee,
            "today": today,
            "current": current,
            "status_line": status_line(employee, today, months),
            "benefits": [(b, b.is_active_in(current), b.state_in(current)) for b in benefits],
            "selectable_months": [(m, chosen.get(m)) for m in months],
            "providers": list(VOUCHER_PROVIDERS.items()),
            "select_refusal": "" if select_decision else select_decision.reason,
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
            _("Your voucher for %(month)s: %(provider)s. %(due)s")
            % {
                "month": month_label(month),
                "provider": provider_name(form.cleaned_data["provider"]),
                "due": code_due(month, company_today(employee.company)),
            },
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


@dataclass(frozen=True)
class ReceiptTarget:
    """One choice of the receipt form: a benefit in a month it is active in, with what is left."""

    benefit: EmployeeBenefit
    month: Month
    left: Decimal

    @property
    def value(self) -> str:
        return f"{self.benefit.pk}:{self.month}"


def receipt_targets(employee: Employee, today: dt.date) -> list[ReceiptTarget]:
    """The benefit-and-month choices of the receipt form: this month and the previous one, only
    where the benefit is active and the status rules allow a receipt for that month."""
    current = Month.of(today)
    targets = []
    benefits = list(EmployeeBenefit.objects.filter(employee=employee, kind__in=REIMBURSEMENT_TYPES))
    for month in (current, current.previous()):
        decision = rules.check(
            rules.Action.SUBMIT_RECEIPT,
            status=employee.status,
            today=today,
            last_month=employee.lwm,
            month=month,
        )
        if not decision:
            continue
        for benefit in benefits:
            if benefit.is_active_in(month):
                left = remaining_allowance(benefit, month, count_pending=True)
                targets.append(ReceiptTarget(benefit, month, left))
    return targets


@access.employee("GET", "POST")
def receipts(request: HttpRequest) -> HttpResponse:
    """Receipts: the list with their status and decision, and the upload form (POST)."""
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
                messages.success(
                    request, _("Receipt submitted. You will get an e-mail once it is decided.")
                )
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
    targets = receipt_targets(employee, today)
    chosen = request.POST.get("target", "") if request.method == "POST" else ""
    return render(
        request,
        "employee_area/receipts.html",
        {
            "employee": employee,
            "form": form,
            "current": current,
            "targets": targets,
            "chosen": chosen,
            "any_left": any(t.left > 0 for t in targets),
            "submit_refusal": "" if decision or targets else decision.reason,
            "status_line": status_line(employee, today, selectable_months(employee, today)),
            "receipts": Receipt.objects.filter(employee=employee).select_related("benefit"),
            "max_mb": max_bytes() // 2**20,
        },
        status=status,
    )
