"""How often a sync reads the company's employees: once for a company whose listing fits in one
chunk (the daily cycle is thousands of those), per chunk for a large one."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from benefitsync.companies.models import Company
from benefitsync.integrations.personio.models import PersonioIntegration
from benefitsync.integrations.personio.sync import plan
from tests.sync.conftest import sync_now

pytestmark = pytest.mark.django_db(transaction=True)

EMPLOYEE_READ = 'FROM "employees_employee"'


def employee_reads_of_a_sync(company: Company) -> int:
    with CaptureQueriesContext(connection) as queries:
        run = sync_now(company)
    assert run.counts["employees_written"] == 0
    # On PostgreSQL a streamed read is a "DECLARE … CURSOR FOR SELECT …".
    return sum(
        "SELECT" in q["sql"] and EMPLOYEE_READ in q["sql"] and "INSERT" not in q["sql"]
        for q in queries.captured_queries
    )


def test_a_company_whose_listing_fits_in_one_chunk_is_read_once(
    company: Company, connected: PersonioIntegration
) -> None:
    sync_now(company)

    assert employee_reads_of_a_sync(company) == 1


def test_a_listing_in_several_chunks_reads_each_chunks_rows_and_the_companys_keys(
    company: Company, connected: PersonioIntegration, monkeypatch: pytest.MonkeyPatch
) -> None:
    sync_now(company)
    monkeypatch.setattr(plan, "CHUNK_SIZE", 10)  # the sandbox's 40 employees: 4 chunks

    # Is anybody linked; the rows of each of 4 chunks; every employee's keys.
    assert employee_reads_of_a_sync(company) == 1 + 4 + 1
