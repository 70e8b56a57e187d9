"""Receipts for reimbursement benefits (meal, internet, mobility): submission and HR decision.

Files are checked by their content (magic bytes), not their name, and stored through Django's
storage API under a random name: the uploaded file name may carry the person's name.

Business limits, per benefit and month:
- at most `RECEIPT_MAX_PER_MONTH` receipts that are not rejected (a rejected one may be
  replaced), and none once the approved receipts reach the monthly amount;
- what is reimbursed never exceeds the benefit's monthly amount: `reimbursed()` is
  min(monthly amount, sum of approved receipts), and an approval adds to the monthly totals only
  the part still within the monthly amount (`reimbursable_part`).
"""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
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
from benefitsync.lib.months import Month

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


def approved_sum(benefit: EmployeeBenefit, month: Month, *, exclude: int | None = None) -> Decimal:
    """The sum of the approved receipts of `benefit` in `month` (all of it, before the cap)."""
    receipts = Receipt.objects.filter(
        benefit=benefit, month=month.first_day, status=ReceiptStatus.APPROVED
    )
    if exclude is not None:
        receipts = receipts.exclude(pk=exclude)
    return receipts.aggregate(total=Sum("amount"))["total"] or Decimal("0")


def reimbursed(benefit: EmployeeBenefit, month: Month) -> Decimal:
    """What `benefit` reimburses for `month`: the approved receipts, at most the monthly amount."""
    return min(benefit.monthly_amount, approved_sum(benefit, month))


def reimbursable_part(
    monthly_amount: Decimal, approved_before: Decimal, amount: Decimal
) -> Decimal:
    """How much of a receipt of `amount` is reimbursed when `approved_before` is already approved
    in its month: the part that still fits under `monthly_amount` (never negative)."""
    room = max(Decimal("0"), monthly_amount - approved_before)
    return min(amount, room)


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
        raise ActionRefused(_("The benefit is not active in %(month)s.") % {"month": str(month)})
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
    if approved_sum(benefit, month) >= benefit.monthly_amount:
        raise ActionRefused(
            _("The %(month)s allowance of this benefit is already fully reimbursed.")
            % {"month": str(month)}
        )
    content, extension = read_checked(upload)
    receipt = Receipt(
        company_id=employee.company_id,
        employee=employee,
        benefit=benefit,
        month=month.first_day,
        amount=amount,
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


@transaction.atomic
def do_decide_receipt(receipt: Receipt, *, approve: bool, acting_user: User | None) -> Receipt:
    """The HR admin approves or rejects a submitted receipt; an approval adds to the anonymous
    monthly totals the part of the receipt still within the benefit's monthly amount (the rest
    is not reimbursed). A decided receipt stays decided."""
    receipt = Receipt.objects.select_for_update().select_related("benefit").get(pk=receipt.pk)
    if receipt.status != ReceiptStatus.SUBMITTED:
        raise ActionRefused(_("This receipt has already been decided."))
    # The benefit's row serialises decisions on its receipts: two approvals at once both see
    # the other's amount, so together they never pass the monthly amount.
    benefit = EmployeeBenefit.objects.select_for_update().get(pk=receipt.benefit_id)
    month = Month.of(receipt.month)
    part = Decimal("0")
    if approve:
        part = reimbursable_part(
            benefit.monthly_amount, approved_sum(benefit, month, exclude=receipt.pk), receipt.amount
        )
    receipt.status = ReceiptStatus.APPROVED if approve else ReceiptStatus.REJECTED
    receipt.decided_at = timezone.now()
    receipt.save(update_fields=["status", "decided_at"])
    if approve:
        add_to_total(receipt.company_id, month, benefit.kind, part)
    audit.record(
        "receipt.decide",
        company=receipt.company,
        actor=acting_user,
        target=f"employee:{receipt.employee_id}",
        receipt=receipt.pk,
        status=receipt.status,
        reimbursed=str(part),
    )
    return receipt


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
