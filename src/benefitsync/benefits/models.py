"""Benefits an employer grants: per-employee monthly benefits, voucher selections, receipts."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from benefitsync.lib.months import Month, month_label


class BenefitType(models.TextChoices):
    VOUCHER = "voucher", _("Monthly voucher (non-cash benefit)")
    MEAL = "meal", _("Meal allowance")
    INTERNET = "internet", _("Internet allowance")
    MOBILITY = "mobility", _("Mobility")


# Benefits paid against receipts (SPEC §6); the voucher is chosen, not reimbursed.
REIMBURSEMENT_TYPES = frozenset({BenefitType.MEAL, BenefitType.INTERNET, BenefitType.MOBILITY})


class EndReason(models.TextChoices):
    NONE = "", _("—")
    MANUAL = "manual", _("Ended by hand")
    LEAVING = "leaving", _("Leaving planned")
    TERMINATION = "termination", _("Immediate termination")


class EmployeeBenefit(models.Model):
    """One benefit of one employee: a monthly amount from a start month to an optional end month.

    `end_reason` says who set the end: the leaving rule's ends are undone when the leaving date is
    removed in Personio; ends set by hand stay (SPEC §4.4). An end month before the start month
    means the benefit never becomes active (a planned benefit cut off by leaving).
    """

    company = models.ForeignKey("companies.Company", on_delete=models.CASCADE, related_name="+")
    employee = models.ForeignKey(
        "employees.Employee", on_delete=models.CASCADE, related_name="benefits"
    )
    kind = models.CharField(_("benefit"), max_length=20, choices=BenefitType.choices)
    monthly_amount = models.DecimalField(_("monthly amount (EUR)"), max_digits=8, decimal_places=2)
    start_month = models.DateField(_("start month"))
    end_month = models.DateField(_("end month"), null=True, blank=True)
    end_reason = models.CharField(
        max_length=20, choices=EndReason.choices, default=EndReason.NONE, blank=True
    )
    # The end month a hand had set before the leaving rule overrode it; restored on undo.
    end_month_before_leaving = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["kind", "start_month", "id"]
        verbose_name = _("benefit")
        verbose_name_plural = _("benefits")
        indexes = [models.Index(fields=["company", "employee"])]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(monthly_amount__gt=0), name="benefit_amount_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.monthly_amount} €"

    def is_active_in(self, month: Month) -> bool:
        start = Month.of(self.start_month)
        end = None if self.end_month is None else Month.of(self.end_month)
        return start <= month and (end is None or month <= end)

    def state_in(self, current: Month) -> str:
        """What the benefit does, seen from `current`, for a person to read. A benefit ended
        before its start (an immediate termination before it began) never started: it is not
        shown as "from December until November"."""
        start = Month.of(self.start_month)
        end = None if self.end_month is None else Month.of(self.end_month)
        if end is not None and end < start:
            return str(_("Never started"))
        if end is not None and end < current:
            return str(_("Ended with %(month)s")) % {"month": month_label(end)}
        if start > current:
            if end is not None:
                return str(_("From %(start)s until %(end)s")) % {
                    "start": month_label(start),
                    "end": month_label(end),
                }
            return str(_("Starts %(month)s")) % {"month": month_label(start)}
        if end is not None:
            return str(_("Active until %(month)s")) % {"month": month_label(end)}
        return str(_("Active"))


class VoucherSelection(models.Model):
    """The voucher (gift card) an employee chose for one month; a code once issued."""

    company = models.ForeignKey("companies.Company", on_delete=models.CASCADE, related_name="+")
    employee = models.ForeignKey(
        "employees.Employee", on_delete=models.CASCADE, related_name="voucher_selections"
    )
    benefit = models.ForeignKey(
        EmployeeBenefit, on_delete=models.CASCADE, related_name="voucher_selections"
    )
    month = models.DateField(_("month"))
    provider = models.CharField(_("voucher"), max_length=100)
    amount = models.DecimalField(_("amount (EUR)"), max_digits=8, decimal_places=2)
    code = models.CharField(_("voucher code"), max_length=64, blank=True)
    issued_at = models.DateTimeField(null=True, blank=True)
    redeemed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-month"]
        constraints = [
            models.UniqueConstraint(fields=["employee", "month"], name="one_voucher_per_month")
        ]

    def __str__(self) -> str:
        return f"{self.provider} {self.month:%Y-%m}"


class ReceiptStatus(models.TextChoices):
    SUBMITTED = "submitted", _("Submitted")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")


class Receipt(models.Model):
    """A receipt an employee submitted for a reimbursement benefit in a month."""

    company = models.ForeignKey("companies.Company", on_delete=models.CASCADE, related_name="+")
    employee = models.ForeignKey(
        "employees.Employee", on_delete=models.CASCADE, related_name="receipts"
    )
    benefit = models.ForeignKey(EmployeeBenefit, on_delete=models.CASCADE, related_name="receipts")
    month = models.DateField(_("month"))
    amount = models.DecimalField(_("amount (EUR)"), max_digits=8, decimal_places=2)
    file = models.FileField(_("file"), upload_to="receipts/%Y/%m/")
    status = models.CharField(
        _("status"), max_length=20, choices=ReceiptStatus.choices, default=ReceiptStatus.SUBMITTED
    )
    # What the company pays for this receipt: set on approval, never above what was left of the
    # benefit's monthly amount then (SPEC §6). Payroll reads this field, not `amount` (the
    # receipt's own total, which may be higher).
    approved_amount = models.DecimalField(
        _("approved amount (EUR)"), max_digits=8, decimal_places=2, null=True, blank=True
    )
    # The HR admin's reason for a rejection, shown to the employee as written.
    decision_reason = models.TextField(_("reason"), blank=True)
    # The language the employee used when submitting: the decision e-mail is written in it.
    language = models.CharField(max_length=8, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["company", "status", "month"])]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status="approved", approved_amount__isnull=False)
                | ~models.Q(status="approved"),
                name="approved_receipt_has_amount",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_status_display()} {self.amount} € {self.month:%Y-%m}"


class TotalKind(models.TextChoices):
    VOUCHER = "voucher", _("Vouchers issued")
    MEAL = "meal", _("Meal allowance reimbursed")
    INTERNET = "internet", _("Internet allowance reimbursed")
    MOBILITY = "mobility", _("Mobility reimbursed")


class MonthlyTotal(models.Model):
    """Anonymous accounting totals per company, month and benefit kind.

    Updated when a voucher code is issued or a receipt approved; holds no reference to a person,
    so erasing an employee (GDPR) leaves the company's books unchanged.
    """

    company = models.ForeignKey("companies.Company", on_delete=models.CASCADE, related_name="+")
    month = models.DateField(_("month"))
    kind = models.CharField(_("benefit"), max_length=20, choices=TotalKind.choices)
    amount = models.DecimalField(_("amount (EUR)"), max_digits=12, decimal_places=2, default=0)
    count = models.PositiveIntegerField(_("count"), default=0)

    class Meta:
        ordering = ["-month", "kind"]
        constraints = [
            models.UniqueConstraint(
                fields=["company", "month", "kind"], name="monthly_total_once_per_kind"
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.month:%Y-%m}: {self.count} × = {self.amount} €"
