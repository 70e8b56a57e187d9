"""Receipts for reimbursement benefits (meal, internet, mobility): submission and HR decision.

Files are checked by their content (magic bytes), not their name, and stored through Django's
storage API under a random name: the uploaded file name may carry the person's name.

Business limits, per benefit and month:
- at most `RECEIPT_MAX_PER_MONTH` receipts that are not rejected (a rejected one may be
  replaced);
- a submission asks for at most what is left of the monthly amount after approved and pending
  receipts (`remaining_allowance(count_pending=True)`);
- an approval grants at most what is left after the approved ones (`Receipt.approved_amount`),
  so what is reimbursed (`reimbursed()`) never exceeds the benefit's monthly amount.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import Sum
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.formats import number_format
from django.utils.translation import gettext as _

from benefitsync.audit import services as audit
from benefitsync.benefits.models import (
    REIMBURSEMENT_TYPES,
    EmployeeBenefit,
    Receipt,
    ReceiptStatus,
)
from benefitsync.benefits.vouchers import add_to_total
from benefitsync.employees import rules
from benefitsync.employees.models import Employee
from benefitsync.employees.services import ActionRefused, lock_employee_for
from benefitsync.invitations.services import queue_email
from benefitsync.lib.months import Month, month_label

if TYPE_CHECKING:
    from django.core.files.uploadedfile import UploadedFile

    from benefitsync.accounts.models import User

# Magic bytes → extension. Only these three types are accepted (issue 6).
_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"%PDF-", "pdf"),
    (b"\xff\xd8\xff", "jpg"),
    (b"\x89PNG\r\n\x1a\n", "png"),
)


def max_bytes() -> int:
    return int(settings.RECEIPT_MAX_BYTES)


def sniff(head: bytes) -> str | None:
    """The file type from its first bytes: "pdf", "jpg", "png", or None."""
    for signature, extension in _SIGNATURES:
        if head.startswith(signature):
            return extension
    return None


def read_checked(upload: UploadedFile) -> tuple[bytes, str]:
    """The file's content and extension, or ActionRefused when too large or of another type."""
    limit = max_bytes()
    if upload.size is not None and upload.size > limit:
        raise ActionRefused(
            _("The file is too large (at most %(mb)s MB).") % {"mb": limit // 2**20}
        )
    upload.seek(0)
    content = upload.read(limit + 1)
    if len(content) > limit:
        raise ActionRefused(
            _("The file is too large (at most %(mb)s MB).") % {"mb": limit // 2**20}
        )
    extension = sniff(content[:16])
    if extension is None:
        raise ActionRefused(_("Please upload a PDF, JPEG or PNG file."))
    return content, extension


def max_per_month() -> int:
    return int(settings.RECEIPT_MAX_PER_MONTH)


def reimbursed(benefit: EmployeeBenefit, month: Month) -> Decimal:
    """What `benefit` reimburses for `month`: the amounts granted by its approved receipts, which
    an approval never lets exceed the monthly amount (`do_approve_receipt`)."""
    return Receipt.objects.filter(
        benefit=benefit, month=month.first_day, status=ReceiptStatus.APPROVED
    ).aggregate(total=Sum("approved_amount"))["total"] or Decimal("0")


def reimbursement_benefits_in(employee: Employee, month: Month) -> list[EmployeeBenefit]:
    return [
        b
        for b in EmployeeBenefit.objects.filter(employee=employee, kind__in=REIMBURSEMENT_TYPES)
        if b.is_active_in(month)
    ]


@transaction.atomic
def do_submit_receipt(
    employee: Employee,
    *,
    benefit: EmployeeBenefit,
    month: Month,
    amount: Decimal,
    upload: UploadedFile,
    today: dt.date,
    acting_user: User | None,
) -> Receipt:
    """Submit a receipt for a reimbursement benefit active in `month` (not a future month).

    Leaving planned: months up to the last working month; Left: refused (SPEC §4.3, §6).
    """
    employee = lock_employee_for(employee, rules.Action.SUBMIT_RECEIPT, today=today, month=month)
    if month > Month.of(today):
        raise ActionRefused(_("Receipts can be submitted for this month or earlier months only."))
    if benefit.employee_id != employee.pk or benefit.kind not in REIMBURSEMENT_TYPES:
        raise ActionRefused(_("This benefit is not reimbursed against receipts."))
    if not benefit.is_active_in(month):
        raise ActionRefused(
            _("The benefit is not active in %(month)s.") % {"month": month_label(month)}
        )
    if amount <= 0:
        raise ActionRefused(_("The amount must be positive."))
    if amount > Decimal("99999.99"):
        raise ActionRefused(_("The amount is too large."))
    # The employee row is locked (lock_employee_for): concurrent submissions count one by one.
    open_receipts = (
        Receipt.objects.filter(benefit=benefit, month=month.first_day)
        .exclude(status=ReceiptStatus.REJECTED)
        .count()
    )
    if open_receipts >= max_per_month():
        raise ActionRefused(
            _("At most %(count)s receipts per benefit and month can be submitted.")
            % {"count": max_per_month()}
        )
    left = remaining_allowance(_lock_benefit(benefit.pk), month, count_pending=True)
    if left <= 0:
        raise ActionRefused(
            _("Nothing is left of your %(benefit)s for %(month)s.")
            % {"benefit": benefit.get_kind_display(), "month": month_label(month)}
        )
    if amount > left:
        raise ActionRefused(
            _(
                "Only %(left)s € of your %(benefit)s for %(month)s are left; please enter at "
                "most that amount."
            )
            % {
                "left": number_format(left, 2),
                "benefit": benefit.get_kind_display(),
                "month": month_label(month),
            }
        )
    content, extension = read_checked(upload)
    receipt = Receipt(
        company_id=employee.company_id,
        employee=employee,
        benefit=benefit,
        month=month.first_day,
        amount=amount,
        # The decision e-mail speaks the language the employee used here (their choice in the
        # language switcher, else their browser's).
        language=translation.get_language() or "",
    )
    receipt.file.save(f"{uuid.uuid4().hex}.{extension}", ContentFile(content), save=False)
    try:
        receipt.save()
    except Exception:
        receipt.file.delete(save=False)
        raise
    audit.record(
        "receipt.submit",
        company=employee.company,
        actor=acting_user,
        target=f"employee:{employee.pk}",
        receipt=receipt.pk,
        month=str(month),
    )
    return receipt


def remaining_allowance(
    benefit: EmployeeBenefit, month: Month, *, count_pending: bool, exclude: int | None = None
) -> Decimal:
    """What is left of `benefit`'s monthly amount in `month`: the amount minus what approved
    receipts of that month were granted, and with `count_pending` also minus the amounts of
    receipts still waiting for a decision (what an employee may still ask for). Never negative.
    `exclude` leaves one receipt out (the one being decided)."""
    receipts = Receipt.objects.filter(benefit=benefit, month=month.first_day)
    if exclude is not None:
        receipts = receipts.exclude(pk=exclude)
    approved = receipts.filter(status=ReceiptStatus.APPROVED).aggregate(
        total=Sum("approved_amount")
    )["total"] or Decimal(0)
    pending = Decimal(0)
    if count_pending:
        pending = receipts.filter(status=ReceiptStatus.SUBMITTED).aggregate(total=Sum("amount"))[
            "total"
        ] or Decimal(0)
    return max(Decimal(0), benefit.monthly_amount - approved - pending)


def _lock_benefit(benefit_id: int) -> EmployeeBenefit:
    # Submissions and approvals of one benefit take turns, so two of them never both spend the
    # same remaining euro.
    return EmployeeBenefit.objects.select_for_update().get(pk=benefit_id)


def _locked_open_receipt(receipt: Receipt) -> Receipt:
    locked = (
        Receipt.objects.select_for_update().select_related("employee", "company").get(pk=receipt.pk)
    )
    if locked.status != ReceiptStatus.SUBMITTED:
        raise ActionRefused(_("This receipt has already been decided."))
    return locked


@transaction.atomic
def do_approve_receipt(
    receipt: Receipt, *, amount: Decimal | None = None, acting_user: User | None
) -> Receipt:
    """Approve a submitted receipt for `amount` (default: the receipt's amount, capped at what
    is left). Refused when `amount` is not positive, above the receipt's amount, or above what
    is left of the benefit's monthly amount that month after earlier approvals (SPEC §6).

    Adds the approved amount to the anonymous monthly totals and queues the decision e-mail.
    """
    locked = _locked_open_receipt(receipt)
    benefit = _lock_benefit(locked.benefit_id)
    month = Month.of(locked.month)
    left = remaining_allowance(benefit, month, count_pending=False, exclude=locked.pk)
    granted = min(locked.amount, left) if amount is None else amount
    if left <= 0:
        raise ActionRefused(
            _("Nothing is left of the monthly amount for %(month)s; reject the receipt instead.")
            % {"month": month_label(month)}
        )
    if granted <= 0:
        raise ActionRefused(_("The approved amount must be positive."))
    if granted > locked.amount:
        raise ActionRefused(_("The approved amount cannot exceed the receipt's amount."))
    if granted > left:
        raise ActionRefused(
            _("At most %(left)s € are left of the monthly amount for %(month)s.")
            % {"left": number_format(left, 2), "month": month_label(month)}
        )
    locked.status = ReceiptStatus.APPROVED
    locked.approved_amount = granted
    locked.decision_reason = ""
    locked.decided_at = timezone.now()
    locked.save(update_fields=["status", "approved_amount", "decision_reason", "decided_at"])
    add_to_total(locked.company_id, month, benefit.kind, granted)
    audit.record(
        "receipt.approve",
        company=locked.company,
        actor=acting_user,
        target=f"employee:{locked.employee_id}",
        receipt=locked.pk,
        amount=str(granted),
    )
    _queue_decision_email(locked, benefit)
    return locked


@transaction.atomic
def do_reject_receipt(receipt: Receipt, *, reason: str, acting_user: User | None) -> Receipt:
    """Reject a submitted receipt; the reason is required and shown to the employee."""
    locked = _locked_open_receipt(receipt)
    reason = reason.strip()
    if not reason:
        raise ActionRefused(_("Please give a reason; the employee will see it."))
    if len(reason) > 1000:
        raise ActionRefused(_("Please keep the reason under 1,000 characters."))
    locked.status = ReceiptStatus.REJECTED
    locked.decision_reason = reason
    locked.decided_at = timezone.now()
    locked.save(update_fields=["status", "decision_reason", "decided_at"])
    audit.record(
        "receipt.reject",
        company=locked.company,
        actor=acting_user,
        target=f"employee:{locked.employee_id}",
        receipt=locked.pk,
    )
    _queue_decision_email(locked, EmployeeBenefit.objects.get(pk=locked.benefit_id))
    return locked


def do_decide_receipt(receipt: Receipt, *, approve: bool, acting_user: User | None) -> Receipt:
    """Kept for the JSON API and older callers: approve at the default amount, or reject with a
    generic reason. The HR pages use `do_approve_receipt` / `do_reject_receipt`."""
    if approve:
        return do_approve_receipt(receipt, acting_user=acting_user)
    return do_reject_receipt(
        receipt, reason=str(_("Rejected by your HR department.")), acting_user=acting_user
    )


@dataclass(frozen=True)
class BulkResult:
    approved: list[int]
    refused: dict[int, str]


def do_approve_receipts(receipts: list[Receipt], *, acting_user: User | None) -> BulkResult:
    """Approve several receipts, each at its default amount and in its own transaction: one
    refusal (already decided, nothing left) does not undo the others."""
    approved: list[int] = []
    refused: dict[int, str] = {}
    for receipt in receipts:
        try:
            do_approve_receipt(receipt, acting_user=acting_user)
        except ActionRefused as error:
            refused[receipt.pk] = str(error)
        else:
            approved.append(receipt.pk)
    return BulkResult(approved=approved, refused=refused)


def _queue_decision_email(receipt: Receipt, benefit: EmployeeBenefit) -> None:
    """Queue the decision e-mail in the language the employee submitted in (caller's
    transaction: the outbox sends it after commit, exactly once)."""
    employee = receipt.employee
    if not employee.email:
        return
    language = receipt.language or settings.LANGUAGE_CODE
    with translation.override(language):
        context = {
            "first_name": employee.first_name,
            "company": receipt.company.name,
            "benefit": benefit.get_kind_display(),
            "month": month_label(Month.of(receipt.month)),
            "amount": number_format(receipt.amount, 2),
            "approved_amount": number_format(receipt.approved_amount or 0, 2),
            "approved": receipt.status == ReceiptStatus.APPROVED,
            "reason": receipt.decision_reason,
        }
        body = render_to_string("benefits/email/receipt_decided.txt", context).strip() + "\n"
        if context["approved"]:
            subject = _("Your receipt for %(month)s was approved") % context
        else:
            subject = _("Your receipt for %(month)s was rejected") % context
    queue_email(
        company=receipt.company,
        key=f"receipt:{receipt.pk}:decided",
        to=employee.email,
        subject=subject,
        body=body,
    )


RECEIPTS_DIR = "receipts"
ORPHAN_GRACE = dt.timedelta(hours=1)


def sweep_orphan_files(
    *, grace: dt.timedelta = ORPHAN_GRACE, now: dt.datetime | None = None
) -> int:
    """Delete receipt files that no receipt refers to and that are older than `grace`; returns
    how many. A submission writes its file before its row commits: when the transaction rolls
    back (here or in a caller), the file stays behind, unreferenced, holding someone's receipt.
    `grace` leaves the files of submissions still in flight alone."""
    storage = Receipt._meta.get_field("file").storage
    cutoff = (now or timezone.now()) - grace
    deleted = 0
    pending = [RECEIPTS_DIR]
    while pending:
        directory = pending.pop()
        try:
            subdirectories, files = storage.listdir(directory)
        except FileNotFoundError:
            continue
        pending.extend(f"{directory}/{name}" for name in subdirectories)
        if not files:
            continue
        names = sorted(f"{directory}/{name}" for name in files)
        for start in range(0, len(names), 1000):  # a month may hold many receipts
            batch = names[start : start + 1000]
            known = set(Receipt.objects.filter(file__in=batch).values_list("file", flat=True))
            for name in batch:
                if name not in known and storage.get_modified_time(name) < cutoff:
                    storage.delete(name)
                    deleted += 1
    return deleted
