"""The HR admin's benefits desk: the receipts inbox (filter, bulk approve) and vouchers by month.

The decision on one receipt (preview, approve with an amount, reject with a reason) is
`employee_area.hr_views.receipt_decide`; every decision goes through `benefits.receipts`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Q, QuerySet, Sum
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from benefitsync.accounts import access
from benefitsync.benefits.models import (
    BenefitType,
    EmployeeBenefit,
    Receipt,
    ReceiptStatus,
    VoucherSelection,
)
from benefitsync.benefits.receipts import do_approve_receipts
from benefitsync.benefits.vouchers import provider_name
from benefitsync.companies.models import Company
from benefitsync.companies.views import acting_user
from benefitsync.employees.models import Employee, EmployeeStatus
from benefitsync.employees.services import company_today
from benefitsync.lib.months import Month

PAGE_SIZE = 50
MAX_BULK = 200


def _month_param(value: str) -> Month | None:
    try:
        month = Month.parse(value) if value else None
    except ValueError:
        return None
    if month is not None and not 2000 <= month.year <= 2100:
        return None
    return month


def _receipt_months(company: Company) -> list[Month]:
    days = Receipt.objects.filter(company=company).values_list("month", flat=True).distinct()
    return sorted({Month.of(day) for day in days}, reverse=True)


def filtered_receipts(
    company: Company, *, status: str, month: Month | None, q: str
) -> QuerySet[Receipt]:
    """The company's receipts with `status` ("" = all) in `month` (None = all) whose employee
    matches every word of `q` (name, e-mail, personnel number); oldest open first."""
    receipts = Receipt.objects.filter(company=company).select_related("employee", "benefit")
    if status:
        receipts = receipts.filter(status=status)
    if month is not None:
        receipts = receipts.filter(month=month.first_day)
    for term in q.split()[:5]:
        receipts = receipts.filter(
            Q(employee__first_name__icontains=term)
            | Q(employee__last_name__icontains=term)
            | Q(employee__email__icontains=term)
            | Q(employee__personnel_number__icontains=term)
        )
    return receipts.order_by("created_at", "pk")


@dataclass(frozen=True)
class ReceiptRow:
    receipt: Receipt
    left: Decimal


def _rows(receipts: list[Receipt]) -> list[ReceiptRow]:
    """Each receipt with what is left of its benefit's monthly amount in its month (after the
    approvals so far): one grouped query for the page, not one per row."""
    keys = {(r.benefit_id, r.month) for r in receipts}
    approved: dict[tuple[int, dt.date], Decimal] = {}
    if keys:
        condition = Q()
        for benefit_id, month in keys:
            condition |= Q(benefit_id=benefit_id, month=month)
        for row in (
            Receipt.objects.filter(condition, status=ReceiptStatus.APPROVED)
            .values("benefit_id", "month")
            .annotate(total=Sum("approved_amount"))
        ):
            approved[(row["benefit_id"], row["month"])] = row["total"] or Decimal(0)
    return [
        ReceiptRow(
            r,
            max(
                Decimal(0),
                r.benefit.monthly_amount - approved.get((r.benefit_id, r.month), Decimal(0)),
            ),
        )
        for r in receipts
    ]


@access.hr_admin("GET")
def receipts_inbox(request: HttpRequest, slug: str) -> HttpResponse:
    """Every receipt of the company, by status (default: waiting for a decision), month and
    employee; several can be approved at once."""
    company = access.company_of(request)
    status = request.GET.get("status", ReceiptStatus.SUBMITTED)
    if status not in ReceiptStatus.values:
        status = ""
    month = _month_param(request.GET.get("month", ""))
    q = request.GET.get("q", "").strip()[:200]
    receipts = filtered_receipts(company, status=status, month=month, q=q)
    page = Paginator(receipts, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "benefits/receipts_inbox.html",
        {
            "page": page,
            "rows": _rows(list(page.object_list)),
            "status": status,
            "statuses": ReceiptStatus.choices,
            "month": month,
            "months": _receipt_months(company),
            "q": q,
            "can_bulk": status == ReceiptStatus.SUBMITTED,
        },
    )


@access.hr_admin("POST")
def receipts_approve(request: HttpRequest, slug: str) -> HttpResponse:
    """Approve the ticked receipts, each for its amount capped at what is left that month."""
    company = access.company_of(request)
    ids = [int(value) for value in request.POST.getlist("receipt") if value.isdigit()][:MAX_BULK]
    receipts = list(Receipt.objects.filter(company=company, pk__in=ids).order_by("created_at"))
    if not receipts:
        messages.error(request, _("Please tick the receipts to approve."))
    else:
        result = do_approve_receipts(receipts, acting_user=acting_user(request))
        if result.approved:
            messages.success(
                request,
                ngettext(
                    "%(count)d receipt approved.",
                    "%(count)d receipts approved.",
                    len(result.approved),
                )
                % {"count": len(result.approved)},
            )
        for reason in dict.fromkeys(result.refused.values()):
            count = sum(1 for r in result.refused.values() if r == reason)
            messages.warning(
                request,
                ngettext(
                    "%(count)d receipt not approved: %(reason)s",
                    "%(count)d receipts not approved: %(reason)s",
                    count,
                )
                % {"count": count, "reason": reason},
            )
    url = reverse("benefits:receipts", kwargs={"slug": company.slug})
    back = request.POST.get("next", "")
    # Back to the same filtered list; only a query string, never another address.
    return redirect(url + back if back.startswith("?") else url)


@dataclass(frozen=True)
class VoucherRow:
    employee: Employee
    selection: VoucherSelection | None
    provider: str


@access.hr_admin("GET")
def vouchers_by_month(request: HttpRequest, slug: str) -> HttpResponse:
    """Who chose which voucher for a month, whether its code is issued and redeemed, and who
    with a voucher benefit that month has not chosen yet."""
    company = access.company_of(request)
    today = company_today(company)
    month = _month_param(request.GET.get("month", "")) or Month.of(today)
    day = month.first_day
    selections = {
        s.employee_id: s
        for s in VoucherSelection.objects.filter(company=company, month=day).select_related(
            "employee"
        )
    }
    benefit_holders = (
        EmployeeBenefit.objects.filter(company=company, kind=BenefitType.VOUCHER)
        .filter(start_month__lte=day)
        .filter(Q(end_month__isnull=True) | Q(end_month__gte=day))
        .values_list("employee_id", flat=True)
    )
    employees = Employee.objects.filter(
        company=company, pk__in={*benefit_holders, *selections}
    ).order_by("last_name", "first_name", "pk")
    rows = [
        VoucherRow(
            e,
            selections.get(e.pk),
            provider_name(s.provider) if (s := selections.get(e.pk)) else "",
        )
        for e in employees
    ]
    chosen = [r for r in rows if r.selection is not None]
    return render(
        request,
        "benefits/vouchers_by_month.html",
        {
            "month": month,
            "previous": month.previous(),
            "next": month.next(),
            "is_current": month == Month.of(today),
            "chosen": chosen,
            "not_chosen": [
                r for r in rows if r.selection is None and r.employee.status != EmployeeStatus.LEFT
            ],
            "issued": sum(1 for r in chosen if r.selection and r.selection.issued_at),
            "redeemed": sum(1 for r in chosen if r.selection and r.selection.redeemed_at),
        },
    )
