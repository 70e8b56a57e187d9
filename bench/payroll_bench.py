"""Payroll for a large company: how long the month's figures, the files and the corrections take.

A fresh SQLite database (or DATABASE_URL) in a temporary data directory; N employees, each with a
voucher, a meal allowance with 12 receipts and an internet allowance with one receipt, over
`--months` months. Measures: the month's figures of an open month, the CSV and the LODAS file,
closing a month, and the first open month's page once that many months are closed (it
recomputes every closed month in the correction window to find late changes).

    .venv/bin/python bench/payroll_bench.py [--employees 10000] [--months 6]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--employees", type=int, default=10_000)
    parser.add_argument("--months", type=int, default=6)
    args = parser.parse_args()
    data_dir = tempfile.mkdtemp(prefix="payroll-bench-")
    os.environ.setdefault("BENEFITSYNC_DATA_DIR", data_dir)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "benefitsync.settings")
    sys.path.insert(0, str(ROOT / "src"))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from benefitsync.benefits.models import (
        BenefitType,
        EmployeeBenefit,
        Receipt,
        ReceiptStatus,
        VoucherSelection,
    )
    from benefitsync.companies.models import Company
    from benefitsync.employees.models import Employee
    from benefitsync.lib.months import Month
    from benefitsync.payroll import services
    from benefitsync.payroll.models import ExportFormat

    n, months = args.employees, [Month(2026, m) for m in range(1, args.months + 1)]
    company = Company.objects.create(name="Bench GmbH", slug="bench")
    started = time.perf_counter()
    Employee.objects.bulk_create(
        Employee(
            company=company,
            first_name=f"First{i}",
            last_name=f"Last{i}",
            email=f"e{i}@bench.example",
            personnel_number=str(10_000 + i),
        )
        for i in range(n)
    )
    people = list(Employee.objects.filter(company=company).values_list("pk", flat=True))
    start = months[0].first_day
    benefits = []
    for pk in people:
        for kind, amount in (
            (BenefitType.VOUCHER, "50"),
            (BenefitType.MEAL, "115"),
            (BenefitType.INTERNET, "50"),
        ):
            benefits.append(
                EmployeeBenefit(
                    company=company,
                    employee_id=pk,
                    kind=kind,
                    monthly_amount=Decimal(amount),
                    start_month=start,
                )
            )
    EmployeeBenefit.objects.bulk_create(benefits, batch_size=2000)
    by_kind = {
        (e, k): b
        for b, e, k in EmployeeBenefit.objects.filter(company=company).values_list(
            "pk", "employee_id", "kind"
        )
    }
    for month in months:
        VoucherSelection.objects.bulk_create(
            (
                VoucherSelection(
                    company=company,
                    employee_id=pk,
                    benefit_id=by_kind[(pk, BenefitType.VOUCHER)],
                    month=month.first_day,
                    provider="amazon",
                    amount=Decimal("50"),
                )
                for pk in people
            ),
            batch_size=2000,
        )
        receipts = []
        for pk in people:
            for meal in range(12):
                receipts.append(
                    Receipt(
                        company=company,
                        employee_id=pk,
                        benefit_id=by_kind[(pk, BenefitType.MEAL)],
                        month=month.first_day,
                        amount=Decimal("7.90") if meal % 4 == 0 else Decimal("6.50"),
                        file="receipts/bench.pdf",
                        status=ReceiptStatus.APPROVED,
                    )
                )
            receipts.append(
                Receipt(
                    company=company,
                    employee_id=pk,
                    benefit_id=by_kind[(pk, BenefitType.INTERNET)],
                    month=month.first_day,
                    amount=Decimal("44.95"),
                    file="receipts/bench.pdf",
                    status=ReceiptStatus.APPROVED,
                )
            )
        Receipt.objects.bulk_create(receipts, batch_size=5000)
    print(f"data: {n} employees, {len(months)} months, {time.perf_counter() - started:.1f} s")

    def timed(label: str, fn):  # type: ignore[no-untyped-def]
        t0 = time.perf_counter()
        result = fn()
        print(f"{label:<58} {time.perf_counter() - t0:7.2f} s")
        return result

    first = months[0]
    view = timed(
        f"month's figures, open month ({first})", lambda: services.month_view(company, first)
    )
    print(f"  lines: {len(view.lines)}")
    timed("CSV file (figures + render + record)", lambda: services.do_export(
        company, first, ExportFormat.CSV, acting_user=None))  # fmt: skip
    services.do_update_settings(
        company, consultant_number="1234567", client_number="12345", cutoff_day=1,
        wage_types={"voucher:tax_free": "4100", "meal:tax_free": "4200", "meal:taxable": "4201",
                    "internet:flat_25": "4300"}, acting_user=None,
    )  # fmt: skip
    export = timed("LODAS file (figures + render + record)", lambda: services.do_export(
        company, first, ExportFormat.DATEV_LODAS, acting_user=None))  # fmt: skip
    print(f"  LODAS bytes: {len(bytes(export.content))}")
    for month in months[:-1]:
        timed(f"close {month}", lambda m=month: services.do_close_month(  # type: ignore[misc]
            company, m, today=m.last_day, acting_user=None))  # fmt: skip
    last = months[-1]
    closed = months[:-1]
    timed(
        f"input fingerprints of the {len(closed)} closed months (one look)",
        lambda: services.inputs_fingerprints(company, closed),
    )
    timed(
        f"first open month {last} with {len(months) - 1} closed (corrections)",
        lambda: services.month_view(company, last),
    )


if __name__ == "__main__":
    main()
