"""HR-admin actions on one employee: immediate termination, GDPR deletion, (re-)invitation, and
the decision on a receipt. Each is a confirmation page (GET) and the action (POST with CSRF);
the page shows up front whether the rules allow it and why not.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from csp.constants import SELF
from csp.decorators import csp_replace
from django.contrib import messages
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.clickjacking import xframe_options_sameorigin

from benefitsync.accounts import access
from benefitsync.benefits.models import Receipt, ReceiptStatus, VoucherSelection
from benefitsync.benefits.receipts import (
    do_approve_receipt,
    do_reject_receipt,
    remaining_allowance,
)
from benefitsync.benefits.vouchers import provider_name
from benefitsync.companies.views import acting_user
from benefitsync.employees import rules
from benefitsync.employees.models import Employee
from benefitsync.employees.services import (
    ActionRefused,
    company_today,
    do_delete_employee,
    do_terminate_now,
)
from benefitsync.invitations.models import Invitation
from benefitsync.invitations.services import InvitationRefused, do_invite
from benefitsync.lib.months import Month, month_label


def _employee(request: HttpRequest, slug: str, pk: int) -> Employee:
    company = access.company_of(request)
    return get_object_or_404(Employee.objects.select_related("company"), pk=pk, company=company)


def _detail(employee: Employee) -> HttpResponse:
    return redirect("employees:detail", slug=employee.company.slug, pk=employee.pk)


@access.hr_admin("GET", "POST")
def terminate(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    """Immediate termination (SPEC §4.5): refused while a voucher is selected for this month."""
    employee = _employee(request, slug, pk)
    today = company_today(employee.company)
    current = Month.of(today)
    blocking = VoucherSelection.objects.filter(employee=employee, month=current.first_day).first()
    decision = rules.check(
        rules.Action.TERMINATE_NOW,
        status=employee.status,
        today=today,
        has_voucher_this_month=blocking is not None,
    )
    refusal = decision.reason
    if request.method == "POST":
        try:
            do_terminate_now(employee, today=today, acting_user=acting_user(request))
        except ActionRefused as error:
            refusal = str(error)
        else:
            messages.success(request, _("The employee has left as of now; all benefits ended."))
            return _detail(employee)
    return render(
        request,
        "employee_actions/terminate.html",
        {
            "employee": employee,
            "refusal": refusal,
            "blocking": blocking,
            "blocking_provider": provider_name(blocking.provider) if blocking else "",
            "current": current,
        },
        status=409 if refusal and request.method == "POST" else 200,
    )


@access.hr_admin("GET", "POST")
def delete(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    """GDPR erasure of the employee, after advising to tell them first (vouchers)."""
    employee = _employee(request, slug, pk)
    if request.method == "POST":
        name = employee.full_name
        do_delete_employee(employee, acting_user=acting_user(request))
        # The name is shown once to the HR admin who did it; it is not stored anywhere.
        messages.success(request, _("%(name)s has been deleted.") % {"name": name})
        return redirect("employees:list", slug=slug)
    unredeemed = list(
        VoucherSelection.objects.filter(
            employee=employee, issued_at__isnull=False, redeemed_at__isnull=True
        ).order_by("month")
    )
    return render(
        request,
        "employee_actions/delete.html",
        {
            "employee": employee,
            "unredeemed": len(unredeemed),
            # What the person loses, named: "an issued REWE voucher for December 2026".
            "losses": _losses(employee, unredeemed),
        },
    )


def _losses(employee: Employee, unredeemed: list[VoucherSelection]) -> list[str]:
    losses = [
        _("an issued %(provider)s voucher for %(month)s (%(amount)s €), not redeemed yet")
        % {
            "provider": provider_name(v.provider),
            "month": month_label(Month.of(v.month)),
            "amount": number_format(v.amount, 2),
        }
        for v in unredeemed
    ]
    chosen = VoucherSelection.objects.filter(employee=employee, issued_at__isnull=True)
    losses += [
        _("the %(provider)s voucher chosen for %(month)s (no code yet)")
        % {"provider": provider_name(v.provider), "month": month_label(Month.of(v.month))}
        for v in chosen.order_by("month")
    ]
    open_receipts = Receipt.objects.filter(employee=employee, status=ReceiptStatus.SUBMITTED)
    count = open_receipts.count()
    if count:
        losses.append(
            ngettext(
                "%(count)d receipt waiting for your decision",
                "%(count)d receipts waiting for your decision",
                count,
            )
            % {"count": count}
        )
    if employee.user_id is not None:
        losses.append(_("their login to the benefits area"))
    return losses


@access.hr_admin("GET", "POST")
def invite(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    """Send the invitation e-mail, or a new link when one was sent before."""
    employee = _employee(request, slug, pk)
    resend = Invitation.objects.filter(employee=employee).exists()
    refusal = ""
    if request.method == "POST":
        try:
            do_invite(employee, acting_user=acting_user(request), resend=resend)
        except InvitationRefused as error:
            refusal = str(error)
        else:
            messages.success(request, _("The invitation e-mail is on its way."))
            return _detail(employee)
    elif not employee.email:
        refusal = _("The employee has no e-mail address.")
    elif employee.user_id is not None:
        refusal = _("The employee has already signed up.")
    return render(
        request,
        "employee_actions/invite.html",
        {"employee": employee, "resend": resend, "refusal": refusal},
        status=409 if refusal and request.method == "POST" else 200,
    )


def _receipt(request: HttpRequest, slug: str, pk: int) -> Receipt:
    company = access.company_of(request)
    return get_object_or_404(
        Receipt.objects.select_related("employee", "benefit", "employee__company"),
        pk=pk,
        company=company,
    )


@access.hr_admin("GET", "POST")
def receipt_decide(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    """One receipt: the document previewed inline, approve (for at most what is left of the
    monthly amount) or reject with a reason the employee sees. POST decision=approve|reject."""
    receipt = _receipt(request, slug, pk)
    month = Month.of(receipt.month)
    left = remaining_allowance(receipt.benefit, month, count_pending=False, exclude=receipt.pk)
    refusal = ""
    amount_text = request.POST.get("approved_amount", "")
    reason = request.POST.get("reason", "")
    if request.method == "POST":
        decision = request.POST.get("decision", "")
        try:
            if decision == "approve":
                do_approve_receipt(
                    receipt, amount=_amount(amount_text), acting_user=acting_user(request)
                )
            elif decision == "reject":
                do_reject_receipt(receipt, reason=reason, acting_user=acting_user(request))
            else:
                raise ActionRefused(_("Please approve or reject the receipt."))
        except ActionRefused as error:
            refusal = str(error)
        else:
            messages.success(request, _("Decision saved. The employee gets an e-mail."))
            following = (
                Receipt.objects.filter(company=receipt.company, status=ReceiptStatus.SUBMITTED)
                .order_by("created_at", "pk")
                .values_list("pk", flat=True)
                .first()
            )
            if following is not None:
                return redirect(
                    "employee_actions:receipt_decide", slug=receipt.company.slug, pk=following
                )
            return redirect("benefits:receipts", slug=receipt.company.slug)
    return render(
        request,
        "employee_actions/receipt_decide.html",
        {
            "receipt": receipt,
            "employee": receipt.employee,
            "refusal": refusal,
            "left": left,
            "suggested": min(receipt.amount, left),
            "amount_text": amount_text,
            "reason": reason,
            "is_pdf": receipt.file.name.endswith(".pdf"),
            "open": receipt.status == ReceiptStatus.SUBMITTED,
        },
        status=409 if refusal and request.method == "POST" else 200,
    )


def _amount(text: str) -> Decimal | None:
    """The approved amount typed by the HR admin (comma or point); None = the suggestion."""
    text = text.strip().replace(" ", "").replace("€", "")
    if not text:
        return None
    if "," in text:
        text = text.replace(".", "").replace(",", ".")
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ActionRefused(_("Please enter the approved amount as a number.")) from None
    if not value.is_finite() or value != value.quantize(Decimal("0.01")):
        raise ActionRefused(_("Please enter the approved amount in euros and cents."))
    return value


@access.hr_admin("GET")
# The decision page shows the file in a frame of the same site: both the old header and the
# page policy (whose default forbids any framing) allow exactly that.
@xframe_options_sameorigin
@csp_replace({"frame-ancestors": [SELF]})  # type: ignore[arg-type]  # typed for (request)-only views
def receipt_file(request: HttpRequest, slug: str, pk: int) -> FileResponse:
    """The receipt file for the HR admin (media files are never served publicly)."""
    receipt = _receipt(request, slug, pk)
    if not receipt.file:
        raise Http404
    try:
        handle = receipt.file.open("rb")
    except FileNotFoundError:
        raise Http404("The receipt file is missing from storage.") from None
    return FileResponse(handle, as_attachment=False)
