"""The employee list's tools (sorting, the extra filters, the CSV export for Excel, bulk invite
and bulk add benefit) and the rules explained where they bite (read-only Personio fields,
the last working month, the 50 € limit of non-cash benefits)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse

from benefitsync.accounts.models import User
from benefitsync.benefits.models import BenefitType, EmployeeBenefit
from benefitsync.companies.models import Company
from benefitsync.employees.models import Employee, EmployeeSource, EmployeeStatus
from benefitsync.employees.services import company_today
from benefitsync.integrations.personio.models import IntegrationStatus, PersonioIntegration
from benefitsync.invitations.models import OutboundEmail
from benefitsync.lib.months import Month
from tests.conftest import ClientFor
from tests.factories import make_employee

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(company_a: Company) -> list[Employee]:
    return [
        make_employee(company_a, first_name="Ärne", last_name="Özdemir", personnel_number="=1+2"),
        make_employee(company_a, first_name="Bo", last_name="Adams", email=""),
        make_employee(
            company_a,
            first_name="Cy",
            last_name="Meyer",
            status=EmployeeStatus.LEFT,
            missing_from_personio=True,
        ),
    ]


def _list(company: Company) -> str:
    return reverse("employees:list", kwargs={"slug": company.slug})


def test_the_list_sorts_by_a_column_both_ways(
    client_for: ClientFor, hr_a: User, staff: list[Employee], company_a: Company
) -> None:
    client = client_for(hr_a)
    names = [e.last_name for e in client.get(_list(company_a), {"sort": "-name"}).context["page"]]
    assert names == ["Özdemir", "Meyer", "Adams"]
    by_email = client.get(_list(company_a), {"sort": "email"}).context["page"]
    assert next(e.last_name for e in by_email) == "Adams"  # the empty e-mail first
    ignored = client.get(_list(company_a), {"sort": "password"})
    assert ignored.status_code == 200 and ignored.context["sort"] == ""


def test_the_extra_filters_find_the_missing_and_the_not_invited(
    client_for: ClientFor, hr_a: User, staff: list[Employee], company_a: Company
) -> None:
    client = client_for(hr_a)
    missing = client.get(_list(company_a), {"flag": "missing"}).context["page"]
    assert [e.last_name for e in missing] == ["Meyer"]
    not_invited = client.get(_list(company_a), {"flag": "not_invited"}).context["page"]
    assert [e.last_name for e in not_invited] == ["Adams", "Özdemir"]  # not the leaver


def test_the_export_is_the_filtered_list_as_csv_that_excel_opens(
    client_for: ClientFor, hr_a: User, staff: list[Employee], company_a: Company
) -> None:
    url = reverse("employees:export", kwargs={"slug": company_a.slug})
    response = client_for(hr_a).get(url, {"flag": "not_invited", "sort": "-name"})
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert "attachment" in response["Content-Disposition"]
    content = b"".join(response.streaming_content)  # type: ignore[attr-defined]
    assert content.startswith(b"\xef\xbb\xbf")
    lines = content.decode("utf-8-sig").splitlines()
    assert lines[0].split(";")[:5] == [
        "Last name",
        "First name",
        "Personnel number",
        "E-mail",
        "Status",
    ]
    assert [line.split(";")[0] for line in lines[1:]] == ["Özdemir", "Adams"]
    # A cell that Excel would run as a formula is written as text.
    assert lines[1].split(";")[2] == "'=1+2"
    german = client_for(hr_a).get(url, headers={"accept-language": "de"})
    header = b"".join(german.streaming_content).decode("utf-8-sig").splitlines()[0]  # type: ignore[attr-defined]
    assert header.startswith("Nachname;Vorname;Personalnummer")


def test_bulk_invite_invites_those_who_can_be_and_names_the_others(
    client_for: ClientFor, hr_a: User, staff: list[Employee], company_a: Company
) -> None:
    client = client_for(hr_a)
    url = reverse("employees:bulk", kwargs={"slug": company_a.slug})
    ids = [e.pk for e in staff]
    preview = client.post(url, {"action": "invite", "employee": ids})
    html = preview.content.decode()
    assert preview.status_code == 200 and "not invited: no e-mail address" in html
    assert "not invited: has left" in html
    assert not OutboundEmail.objects.exists()
    done = client.post(url, {"action": "invite", "employee": ids, "confirm": "1"}, follow=True)
    messages = [str(m) for m in done.context["messages"]]
    assert messages == ["1 invitation is on its way.", "2 employees were not invited."]
    assert OutboundEmail.objects.get().to == staff[0].email


def test_bulk_add_benefit_adds_it_to_each_active_employee_and_reports_the_refused(
    client_for: ClientFor, hr_a: User, staff: list[Employee], company_a: Company
) -> None:
    client = client_for(hr_a)
    url = reverse("employees:bulk", kwargs={"slug": company_a.slug})
    month = str(Month.of(company_today(company_a)))
    response = client.post(
        url,
        {
            "action": "add_benefit",
            "confirm": "1",
            "employee": [e.pk for e in staff],
            "kind": BenefitType.INTERNET,
            "monthly_amount": "25.00",
            "start_month": month,
        },
    )
    assert response.status_code == 200  # one was refused: the page names them
    assert "Meyer" in response.content.decode() and "has left" in response.content.decode()
    added = EmployeeBenefit.objects.filter(kind=BenefitType.INTERNET)
    assert sorted(b.employee.last_name for b in added) == ["Adams", "Özdemir"]
    assert all(b.monthly_amount == Decimal("25.00") for b in added)


def test_an_employee_whose_fields_all_come_from_personio_has_no_save_button(
    client_for: ClientFor, hr_a: User, company_a: Company
) -> None:
    PersonioIntegration.objects.create(
        company=company_a, status=IntegrationStatus.ACTIVE, client_id="id"
    )
    synced = make_employee(company_a, source=EmployeeSource.PERSONIO, personio_id=7)
    client = client_for(hr_a)
    detail = client.get(reverse("employees:detail", kwargs={"slug": "alpha", "pk": synced.pk}))
    edit_url = reverse("employees:edit", kwargs={"slug": "alpha", "pk": synced.pk})
    assert edit_url not in detail.content.decode()
    form = client.get(edit_url).content.decode()
    assert ">Save</button>" not in form and "every field comes from Personio" in form
    manual = make_employee(company_a)
    form = client.get(reverse("employees:edit", kwargs={"slug": "alpha", "pk": manual.pk}))
    assert ">Save</button>" in form.content.decode()


def test_a_late_leaving_date_is_explained_and_personio_values_are_translated(
    client_for: ClientFor, hr_a: User, company_a: Company
) -> None:
    today = company_today(company_a)
    current = Month.of(today)
    late = make_employee(
        company_a,
        status=EmployeeStatus.LEAVING,
        leaving_date=current.previous().first_day + dt.timedelta(days=9),
        last_working_month=current.first_day,
        personio_status="leave",
    )
    url = reverse("employees:detail", kwargs={"slug": "alpha", "pk": late.pk})
    html = client_for(hr_a).get(url).content.decode()
    assert "Leaving is never backdated, so the last working month is" in html
    assert "on leave" in html
    german = client_for(hr_a).get(url, headers={"accept-language": "de"}).content.decode()
    assert "beurlaubt" in german and "rückwirkend" in german


def test_a_voucher_above_50_euros_warns_about_the_non_cash_limit(
    client_for: ClientFor, hr_a: User, company_a: Company
) -> None:
    person = make_employee(company_a)
    url = reverse("benefits:add", kwargs={"slug": "alpha", "employee_id": person.pk})
    month = str(Month.of(company_today(company_a)))
    response = client_for(hr_a).post(
        url,
        {"kind": "voucher", "monthly_amount": "60", "start_month": month},
        follow=True,
    )
    messages = " ".join(str(m) for m in response.context["messages"])
    assert "over the 50 € limit for non-cash benefits" in messages
    fine = client_for(hr_a).post(
        url, {"kind": "meal", "monthly_amount": "60", "start_month": month}, follow=True
    )
    assert "50 € limit" not in " ".join(str(m) for m in fine.context["messages"])


def test_dates_and_months_read_one_way_per_language(
    client_for: ClientFor, hr_a: User, company_a: Company
) -> None:
    person = make_employee(
        company_a,
        hire_date=dt.date(2026, 12, 2),
        status=EmployeeStatus.LEAVING,
        leaving_date=dt.date(2099, 3, 15),
        last_working_month=dt.date(2099, 3, 1),
    )
    url = reverse("employees:detail", kwargs={"slug": "alpha", "pk": person.pk})
    english = client_for(hr_a).get(url).content.decode()
    assert "2 Dec 2026" in english and "15 Mar 2099" in english and "March 2099" in english
    assert "12/02/2026" not in english and "2099-03" not in english
    german = client_for(hr_a).get(url, headers={"accept-language": "de"}).content.decode()
    assert "02.12.2026" in german and "15.03.2099" in german and "März 2099" in german
    assert "2099-03" not in german


def test_personio_values_in_a_run_s_changes_are_translated(
    client_for: ClientFor, hr_a: User, company_a: Company
) -> None:
    from django.utils import timezone

    from benefitsync.integrations.personio.models import RunStatus, SyncEvent, SyncRun

    person = make_employee(company_a)
    run = SyncRun.objects.create(
        company=company_a,
        trigger="manual",
        status=RunStatus.SUCCEEDED,
        finished_at=timezone.now(),
        counts={"updated": 1},
    )
    SyncEvent.objects.create(
        run=run,
        company=company_a,
        employee=person,
        action="update",
        changes={"employment_type": ["internal", "external"], "gender": ["male", "diverse"]},
    )
    url = reverse("personio:run", kwargs={"slug": "alpha", "pk": run.pk})
    german = client_for(hr_a).get(url, headers={"accept-language": "de"}).content.decode()
    assert "Intern → Extern" in german and "männlich → divers" in german
