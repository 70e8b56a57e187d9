from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from benefitsync.benefits.models import Receipt, ReceiptStatus


def open_receipts(request: HttpRequest) -> dict[str, Any]:
    """How many receipts of the page's company wait for a decision (the navigation's counter).

    Only company pages set `request.company` (after the access check), so no other page pays
    for the count; the (company, status, month) index answers it.
    """
    company = getattr(request, "company", None)
    if company is None:
        return {}
    count = Receipt.objects.filter(company=company, status=ReceiptStatus.SUBMITTED).count()
    return {"open_receipt_count": count}
