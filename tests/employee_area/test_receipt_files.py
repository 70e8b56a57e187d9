"""Receipt files that lost their row: a submission rolled back after its file was written."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.utils import timezone

from benefitsync.benefits.models import BenefitType, EmployeeBenefit, Receipt
from benefitsync.benefits.receipts import do_submit_receipt, sweep_orphan_files
from benefitsync.companies.models import Company
from benefitsync.employees.models import EmployeeStatus
from benefitsync.lib.months import Month

from .conftest import PDF, TODAY, build_employee

LATER = timezone.now() + dt.timedelta(hours=2)


class RolledBack(Exception):
    pass


def submit(company: Company) -> Receipt:
    person = build_employee(company, EmployeeStatus.ACTIVE, today=TODAY)
    meal = EmployeeBenefit.objects.get(employee=person, kind=BenefitType.MEAL)
    return do_submit_receipt(
        person,
        benefit=meal,
        month=Month.of(TODAY),
        amount=Decimal("12.50"),
        upload=SimpleUploadedFile("lunch.pdf", PDF),
        today=TODAY,
        acting_user=None,
    )


def test_the_file_of_a_rolled_back_submission_is_swept_and_kept_files_stay(
    company: Company,
) -> None:
    kept = submit(company)
    with pytest.raises(RolledBack), transaction.atomic():
        orphan = submit(company).file.name
        raise RolledBack  # the caller's transaction fails after the receipt was saved
    assert default_storage.exists(orphan)
    assert not Receipt.objects.filter(file=orphan).exists()

    assert sweep_orphan_files(now=LATER) == 1

    assert not default_storage.exists(orphan)
    assert default_storage.exists(kept.file.name)
    assert Receipt.objects.get(pk=kept.pk).file.read() == PDF


def test_a_file_younger_than_the_grace_period_is_left_for_its_submission_to_commit(
    company: Company,
) -> None:
    in_flight = default_storage.save("receipts/2026/11/in-flight.pdf", ContentFile(PDF))

    assert sweep_orphan_files() == 0
    assert default_storage.exists(in_flight)
    assert sweep_orphan_files(now=LATER) == 1
    assert not default_storage.exists(in_flight)


def test_sweeping_without_any_receipt_directory_finds_nothing(db: None) -> None:
    assert sweep_orphan_files(now=LATER) == 0
