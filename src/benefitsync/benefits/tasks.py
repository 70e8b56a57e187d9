"""Huey tasks of the benefits app. Thin: they take ids and call a service.

The month-end job runs hourly for every company rather than once a day at a fixed hour: each
company's month turns over at *its* midnight, and `do_month_end` is idempotent, so the first run
after a company's local midnight does the work and the other 23 are no-ops. An hour's delay in
issuing a voucher code is acceptable; a missed run (worker down) is caught up by the next one.
"""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from benefitsync.benefits.monthly import do_month_end
from benefitsync.benefits.receipts import sweep_orphan_files
from benefitsync.companies.models import Company
from benefitsync.employees.services import company_today


@db_task(priority=5)
def month_end_for_company(company_id: int) -> None:
    company = Company.objects.filter(pk=company_id).first()
    if company is not None:
        do_month_end(company, today=company_today(company))


@db_periodic_task(crontab(minute="5"))
def month_end_all_companies() -> None:
    """Hourly at :05: one task per company, each with the company's local date."""
    for company_id in Company.objects.values_list("pk", flat=True):
        month_end_for_company(company_id)


@db_periodic_task(crontab(hour="3", minute="41"))
def sweep_orphan_receipt_files() -> None:
    """Daily: receipt files whose submission rolled back (see `sweep_orphan_files`)."""
    sweep_orphan_files()
