"""Back office: benefits, voucher selections and receipts, read-only (they change through
`benefits.services`, which check the rules and write the audit log)."""

from __future__ import annotations

from django.contrib import admin

from benefitsync.audit.admin import ReadOnlyModelAdmin
from benefitsync.benefits.models import EmployeeBenefit, Receipt, VoucherSelection


@admin.register(EmployeeBenefit)
class EmployeeBenefitAdmin(ReadOnlyModelAdmin):
    list_display = ("employee", "company", "kind", "monthly_amount", "start_month", "end_month")
    list_select_related = ("employee", "company")
    list_filter = ("kind", "end_reason", "company")
    search_fields = ("employee__last_name", "employee__email")
    show_full_result_count = False


@admin.register(VoucherSelection)
class VoucherSelectionAdmin(ReadOnlyModelAdmin):
    list_display = ("employee", "company", "month", "provider", "amount", "redeemed_at")
    list_select_related = ("employee", "company")
    list_filter = ("company",)
    search_fields = ("employee__last_name", "employee__email")
    exclude = ("code",)  # a voucher code is money: support does not need to read it
    show_full_result_count = False


@admin.register(Receipt)
class ReceiptAdmin(ReadOnlyModelAdmin):
    list_display = ("employee", "company", "month", "amount", "status", "created_at")
    list_select_related = ("employee", "company")
    list_filter = ("status", "company")
    search_fields = ("employee__last_name", "employee__email")
    show_full_result_count = False
