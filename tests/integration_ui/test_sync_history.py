"""The sync history reads like a table: a cell under every header, "1 error" not "1 errors",
each counter once, and a run with thousands of changes paged and filtered by action."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse
from django.utils import timezone

from benefitsync.accounts.models import User
from benefitsync.companies.models import Company
from benefitsync.integrations.personio.models import RunStatus, SyncEvent, SyncRun
from benefitsync.integrations.personio.views import count_text
from tests.conftest import ClientFor

pytestmark = pytest.mark.django_db

COUNTS = {"created": 0, "updated": 1, "leaving": 0, "unchanged": 5, "skipped": 2, "errors": 1}


def _run(company: Company, **counts: int) -> SyncRun:
    now = timezone.now()
    return SyncRun.objects.create(
        company=company,
        trigger="manual",
        status=RunStatus.PARTLY_FAILED,
        started_at=now,
        finished_at=now,
        counts={**COUNTS, **counts},
    )


def _cells_per_row(html: str) -> list[int]:
    body = html.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return [len(re.findall(r"<t[hd][ >]", row)) for row in body.split("</tr>")[:-1]]


def test_every_row_of_the_history_has_a_cell_under_every_header(
    client_for: ClientFor, hr_a: User, company_a: Company
) -> None:
    _run(company_a)
    _run(company_a, invited=3, created=3)
    html = client_for(hr_a).get(reverse("personio:runs", args=[company_a.slug])).content.decode()
    head = html.split("<thead>", 1)[1].split("</thead>", 1)[0]
    headers = len(re.findall(r"<th[ >]", head))
    assert headers == 11  # 4 + the six counts + "invited", which one run of the page has
    assert _cells_per_row(html) == [headers, headers]


def test_one_error_is_one_error() -> None:
    assert count_text("errors", 1) == "1 error"
    assert count_text("errors", 2) == "2 errors"
    assert count_text("created", 1) == "1 created"


def test_a_run_s_counters_appear_once_and_skipped_is_explained(
    client_for: ClientFor, hr_a: User, company_a: Company
) -> None:
    run = _run(company_a, flagged_missing=2, fetched=9)
    html = client_for(hr_a).get(reverse("personio:run", args=[company_a.slug, run.pk])).content
    facts = html.decode().split('<dl class="facts">', 1)[1].split("</dl>", 1)[0]
    assert facts.count("No longer in Personio") == 1
    assert "fetched" not in facts  # an internal counter, not a raw key on the page
    assert 'id="skipped-explained"' in html.decode()


def test_a_run_with_thousands_of_changes_is_paged_and_filtered_by_action(
    client_for: ClientFor, hr_a: User, company_a: Company
) -> None:
    run = _run(company_a, created=2500, updated=10)
    SyncEvent.objects.bulk_create(
        [SyncEvent(run=run, company=company_a, personio_id=n, action="create") for n in range(2500)]
        + [
            SyncEvent(run=run, company=company_a, personio_id=10_000 + n, action="update")
            for n in range(10)
        ]
    )
    client = client_for(hr_a)
    url = reverse("personio:run", args=[company_a.slug, run.pk])
    first = client.get(url)
    assert len(first.context["events"]) == 100
    assert "Page 1 of 26" in first.content.decode()
    updates = client.get(url, {"action": "update"})
    assert [e.action for e in updates.context["events"]] == ["update"] * 10
    assert "Page 1 of" not in updates.content.decode()
    nonsense = client.get(url, {"action": "drop table", "page": "999"})
    assert nonsense.status_code == 200 and nonsense.context["action"] == ""
