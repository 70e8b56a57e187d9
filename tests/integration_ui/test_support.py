"""The support back office: integration health across companies and the company filter."""

from __future__ import annotations

import pytest
from django.urls import reverse

from benefitsync.accounts.models import User
from benefitsync.companies.models import Company
from benefitsync.integrations.personio import services
from benefitsync.integrations.personio.models import PersonioIntegration, RunStatus, SyncRun
from benefitsync.integrations.personio.sandbox.server import SandboxHandle
from tests.conftest import ClientFor

pytestmark = pytest.mark.django_db(transaction=True)


def test_support_pages_are_404_for_hr_admins_and_employees(
    company_a: Company, hr_a: User, employee_a: User, client_for: ClientFor
) -> None:
    for user in (hr_a, employee_a):
        client = client_for(user)
        assert client.get(reverse("support:companies")).status_code == 404
        filter_url = reverse("support:filter", kwargs={"pk": company_a.pk})
        assert client.get(filter_url).status_code == 404
        assert client.post(filter_url, {"email_domains": "alpha.example"}).status_code == 404
    assert (
        not PersonioIntegration.objects.filter(company=company_a)
        .exclude(filter_email_domains=[])
        .exists()
    )


def test_home_sends_support_to_the_company_list(support: User, client_for: ClientFor) -> None:
    response = client_for(support).get(reverse("home"))
    assert response["Location"] == reverse("support:companies")


def test_company_list_shows_health_and_filters_the_broken_ones(
    company_a: Company,
    company_b: Company,
    support: User,
    client_for: ClientFor,
    connected_a: PersonioIntegration,
    sandbox: SandboxHandle,
) -> None:
    SyncRun.objects.create(company=company_a, trigger="daily", status=RunStatus.FAILED)
    client = client_for(support)
    everything = client.get(reverse("support:companies")).content.decode()
    assert "Alpha GmbH" in everything and "Beta AG" in everything
    assert "Failed" in everything
    broken = client.get(reverse("support:companies"), {"health": "broken"}).content.decode()
    assert "Alpha GmbH" in broken and "Beta AG" not in broken
    assert sandbox.client_secret not in everything


def test_support_sets_validates_and_clears_the_company_filter(
    company_a: Company, support: User, client_for: ClientFor
) -> None:
    client = client_for(support)
    url = reverse("support:filter", kwargs={"pk": company_a.pk})
    bad = client.post(url, {"email_domains": "not a domain", "company_names": ""})
    assert bad.status_code == 200 and "Not an e-mail domain" in bad.content.decode()
    assert not services.integration_for(company_a).has_filter

    client.post(
        url, {"email_domains": "@Alpha.example, alpha.de", "company_names": " Alpha GmbH \n"}
    )
    integration = services.integration_for(company_a)
    assert integration.filter_email_domains == ["alpha.de", "alpha.example"]
    assert integration.filter_company_names == ["Alpha GmbH"]
    assert integration.filter_opt_in is False

    client.post(url, {"email_domains": "", "company_names": "", "opt_in": "on"})
    integration.refresh_from_db()
    assert integration.filter_email_domains == [] and integration.filter_opt_in is True


def test_overlap_warning_shows_when_two_companies_read_one_account(
    company_a: Company,
    company_b: Company,
    support: User,
    client_for: ClientFor,
    connected_a: PersonioIntegration,
    sandbox: SandboxHandle,
) -> None:
    services.do_connect_personio(
        company_b,
        client_id=sandbox.client_id,
        client_secret=sandbox.client_secret,
        acting_user=None,
        first_sync=False,
    )
    page = client_for(support).get(reverse("support:filter", kwargs={"pk": company_a.pk}))
    html = page.content.decode()
    assert "read the same Personio account" in html
    assert sandbox.client_secret not in html


def test_hr_admin_sees_the_filter_read_only(
    company_a: Company, hr_a: User, support: User, client_for: ClientFor
) -> None:
    services.do_set_company_filter(company_a, email_domains=["alpha.example"], acting_user=support)
    page = client_for(hr_a).get(reverse("personio:integration", kwargs={"slug": company_a.slug}))
    html = page.content.decode()
    assert "alpha.example" in html and "email_domains" not in html


def test_filter_preview_counts_per_company_and_flags_employees_in_several(
    company_a: Company,
    company_b: Company,
    support: User,
    client_for: ClientFor,
    connected_a: PersonioIntegration,
    sandbox: SandboxHandle,
) -> None:
    services.do_connect_personio(
        company_b,
        client_id=sandbox.client_id,
        client_secret=sandbox.client_secret,
        acting_user=None,
        first_sync=False,
    )
    domain = next(e["email"] for e in sandbox.state.list_flat() if e["email"]).split("@")[1]
    url = reverse("support:filter", kwargs={"pk": company_a.pk})
    page = client_for(support).post(
        url, {"email_domains": domain, "company_names": "", "action": "preview"}
    )
    html = page.content.decode()
    assert "Preview (not saved)" in html
    assert "would land in more than one company" in html  # B has no filter: takes everyone
    assert "Beta AG" in html and "Alpha GmbH" in html
    assert not services.integration_for(company_a).has_filter


def test_filter_preview_warns_when_the_filter_matches_nobody(
    company_a: Company,
    support: User,
    client_for: ClientFor,
    connected_a: PersonioIntegration,
) -> None:
    url = reverse("support:filter", kwargs={"pk": company_a.pk})
    typo = client_for(support).post(
        url, {"email_domains": "alpha.exmaple", "company_names": "", "action": "preview"}
    )
    assert 'id="matches-nobody"' in typo.content.decode()
    nothing = client_for(support).post(
        url, {"email_domains": "", "company_names": "", "action": "preview"}
    )
    assert 'id="matches-nobody"' not in nothing.content.decode()


def test_support_sees_the_filter_values_on_the_company_list(
    company_a: Company, support: User, client_for: ClientFor
) -> None:
    services.do_set_company_filter(
        company_a,
        email_domains=["alpha.example"],
        company_names=["Alpha Süd GmbH"],
        opt_in=True,
        acting_user=support,
    )
    html = client_for(support).get(reverse("support:companies")).content.decode()
    assert "alpha.example" in html and "Alpha Süd GmbH" in html
    assert "Opt-in flag required" in html


def test_support_opens_any_company_s_integration_read_only_without_the_secret(
    company_a: Company,
    support: User,
    hr_a: User,
    client_for: ClientFor,
    connected_a: PersonioIntegration,
    sandbox: SandboxHandle,
) -> None:
    SyncRun.objects.create(
        company=company_a,
        trigger="manual",
        status=RunStatus.SUCCEEDED,
        counts={
            "created": 3,
            "updated": 0,
            "leaving": 0,
            "unchanged": 0,
            "skipped": 0,
            "errors": 1,
        },
    )
    url = reverse("support:integration", kwargs={"pk": company_a.pk})
    page = client_for(support).get(url)
    html = page.content.decode()
    assert page.status_code == 200 and "Integration active" in html
    assert sandbox.client_id in html and sandbox.client_secret not in html
    assert "3 created" in html and "1 error" in html and "1 errors" not in html
    assert "<form" not in html.split("<main", 1)[1].split("</main>", 1)[0]  # read-only
    assert client_for(hr_a).get(url).status_code == 404
