"""The HR admin opens a receipt's file; a file missing from storage is a 404, not a crash."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.core.files.base import ContentFile

from benefitsync.benefits.models import Receipt
from tests.conftest import ClientFor
from tests.factories import make_benefit, make_employee


@pytest.mark.django_db
def test_missing_receipt_file_answers_404(
    company_a: Any, hr_a: Any, client_for: ClientFor, settings: Any, tmp_path: Path
) -> None:
    settings.MEDIA_ROOT = tmp_path
    employee = make_employee(company_a)
    benefit = make_benefit(employee, kind="meal")
    receipt = Receipt.objects.create(
        company=company_a,
        employee=employee,
        benefit=benefit,
        month=benefit.start_month,
        amount=Decimal("9.50"),
        file=ContentFile(b"%PDF-1.4 x", name="r.pdf"),
    )
    url = f"/c/{company_a.slug}/employees/receipts/{receipt.pk}/file/"
    client = client_for(hr_a)
    assert client.get(url).status_code == 200
    Path(receipt.file.path).unlink()
    assert client.get(url).status_code == 404
