"""The employee pages: list (search, filter, pagination, query count), detail, create, edit."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from benefitsync.accounts.models import User
from benefitsync.audit.models import AuditEvent
from benefitsync.companies.models import Company
from benefitsync.employees import views as employee_views
from benefitsync.employees.models import Employee, EmployeeSource, EmployeeStatus
from benefitsync.employees.rules import PERSONIO_FIELDS
from benefitsync.integrations.personio.models import IntegrationStatus, PersonioIntegration
from benefitsync.lib.months import Month
from tests.conftest import ClientFor
from tests.factories import employee_fields, make_benefit, make_employee, make_hr_admin

pytestmark = pytest.mark.django_db


def list_url(company: Company, **query: Any) -> str:
    url = reverse("employees:list", kwargs={"slug": company.slug})
    if query:
        url += "?" + "&".join(f"{key}={value}" for key, value in query.items())
    return url


def names(response: Any) -> list[str]:
    return [employee.full_name for employee in response.context["page"].object_list]


@pytest.fixture
def staff(company_a: Company) -> list[Employee]:
    return [
        make_employee(
            company_a,
            first_name="Berta",
            last_name="Brandt",
            email="berta@alpha.example",
            personnel_number="A-100",
        ),
        make_employee(
            company_a,
            first_name="Carl",
            last_name="Claus",
            email="carl@alpha.example",
            personnel_number="A-200",
            status=EmployeeStatus.LEAVING,
            last_working_month=Month(2099, 3).first_day,
        ),
        make_employee(
            company_a,
            first_name="Dora",
            last_name="Brand-Dietz",
            email="dora@alpha.example",
            personnel_number="B-300",
            status=EmployeeStatus.LEFT,
            missing_from_personio=True,
        ),
    ]


def test_list_shows_only_the_company_s_employees_in_name_order(
    client_for: ClientFor, hr_a: User, staff: list[Employee], company_b: Company
) -> None:
    make_employee(company_b, first_name="Bert", last_name="Beta")
    response = client_for(hr_a).get(list_url(staff[0].company))
    assert response.status_code == 200
    assert names(response) == ["Dora Brand-Dietz", "Berta Brandt", "Carl Claus"]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("brand", ["Dora Brand-Dietz", "Berta Brandt"]),
        ("BERTA", ["Berta Brandt"]),
        ("carl@alpha", ["Carl Claus"]),
        ("A-", ["Berta Brandt", "Carl Claus"]),
        ("b-300", ["Dora Brand-Dietz"]),
        ("Berta Brandt", ["Berta Brandt"]),
        ("nobody", []),
    ],
)
def test_search_matches_name_email_and_personnel_number(
    client_for: ClientFor, hr_a: User, staff: list[Employee], query: str, expected: list[str]
) -> None:
    response = client_for(hr_a).get(list_url(staff[0].company), {"q": query})
    assert names(response) == expected


def test_filter_by_status_and_counts_per_status(
    client_for: ClientFor, hr_a: User, staff: list[Employee]
) -> None:
    client = client_for(hr_a)
    response = client.get(list_url(staff[0].company), {"status": "leaving"})
    assert names(response) == ["Carl Claus"]
    assert [(value, flag, count) for value, flag, _label, count in response.context["tabs"]] == [
        ("", "", 3),
        ("active", "", 1),
        ("leaving", "", 1),
        ("left", "", 1),
        ("", "missing", 1),
        ("", "not_invited", 2),
    ]
    content = response.content.decode()
    assert "Leaving planned" in content
    assert "last month March 2099" in content


def test_status_badges_and_the_missing_from_personio_flag_are_shown(
    client_for: ClientFor, hr_a: User, staff: list[Employee]
) -> None:
    content = client_for(hr_a).get(list_url(staff[0].company)).content.decode()
    assert 'class="badge badge-active"' in content
    assert 'class="badge badge-left"' in content
    assert "No longer in Personio" in content


def test_invalid_status_filter_shows_everyone(
    client_for: ClientFor, hr_a: User, staff: list[Employee]
) -> None:
    response = client_for(hr_a).get(list_url(staff[0].company), {"status": "bogus"})
    assert response.status_code == 200
    assert len(names(response)) == 3


def test_pagination_keeps_the_search(client_for: ClientFor, hr_a: User, company_a: Company) -> None:
    Employee.objects.bulk_create(
        Employee(**employee_fields(company_a, last_name=f"Zed{i:03d}")) for i in range(120)
    )
    client = client_for(hr_a)
    first = client.get(list_url(company_a), {"q": "Zed"})
    assert len(names(first)) == employee_views.PAGE_SIZE
    assert "?q=Zed&amp;page=2" in first.content.decode()
    last = client.get(list_url(company_a), {"q": "Zed", "page": "3"})
    assert len(names(last)) == 120 - 2 * employee_views.PAGE_SIZE
    assert client.get(list_url(company_a), {"page": "999"}).status_code == 200


def test_employee_list_runs_a_constant_number_of_queries(
    client_for: ClientFor, hr_a: User, company_a: Company, django_assert_max_num_queries: Any
) -> None:
    client = client_for(hr_a)
    few = make_employee(company_a)
    make_benefit(few)
    with CaptureQueriesContext(connection) as small:
        assert client.get(list_url(company_a)).status_code == 200

    Employee.objects.bulk_create(
        Employee(**employee_fields(company_a, status=status))
        for i in range(2000)
        for status in [list(EmployeeStatus)[i % 3]]
    )
    for employee in Employee.objects.filter(company=company_a)[:200]:
        make_benefit(employee)
    # session, user, company, the company switcher, page count, page, status counts
    with django_assert_max_num_queries(8):
        response = client.get(list_url(company_a))
    assert len(response.context["page"].object_list) == employee_views.PAGE_SIZE
    with CaptureQueriesContext(connection) as large:
        client.get(list_url(company_a, q="First", status="active", page=3))
    assert len(large) == len(small)


def test_list_counts_only_benefits_active_this_month(
    client_for: ClientFor, hr_a: User, company_a: Company
) -> None:
    employee = make_employee(company_a)
    make_benefit(employee)  # since 2024-01, open-ended: active
    make_benefit(employee, end_month=Month(2024, 6).first_day)  # ended
    make_benefit(employee, start_month=Month(2099, 1).first_day)  # not started yet
    response = client_for(hr_a).get(list_url(company_a))
    assert response.context["page"].object_list[0].active_benefits == 1


def test_switcher_in_header_for_hr_admin_of_several_companies(
    client_for: ClientFor, company_a: Company, company_b: Company
) -> None:
    both = make_hr_admin(company_a, company_b)
    client = client_for(both)
    content = client.get(list_url(company_a)).content.decode()
    assert 'name="company"' in content
    assert "Beta AG" in content
    response = client.get(reverse("companies:switch"), {"company": "beta"})
    assert response.status_code == 302
    assert response["Location"] == list_url(company_b)


def test_detail_shows_benefits_and_status(
    client_for: ClientFor, hr_a: User, staff: list[Employee]
) -> None:
    carl = staff[1]
    make_benefit(carl, monthly_amount="44.00")
    response = client_for(hr_a).get(
        reverse("employees:detail", kwargs={"slug": carl.company.slug, "pk": carl.pk})
    )
    content = response.content.decode()
    assert "Carl Claus" in content
    assert "44.00 €" in content
    assert "Leaving planned" in content
    # Leaving planned: no benefit can be added, and the page says why.
    assert "no further benefits can be configured" in content
    assert reverse("benefits:add", kwargs={"slug": "alpha", "employee_id": carl.pk}) not in content


def test_detail_of_another_company_s_employee_is_not_found(
    client_for: ClientFor, hr_a: User, company_a: Company, company_b: Company
) -> None:
    other = make_employee(company_b)
    url = reverse("employees:detail", kwargs={"slug": company_a.slug, "pk": other.pk})
    assert client_for(hr_a).get(url).status_code == 404


def test_create_employee_by_hand(client_for: ClientFor, hr_a: User, company_a: Company) -> None:
    response = client_for(hr_a).post(
        reverse("employees:create", kwargs={"slug": company_a.slug}),
        {
            "first_name": "Emil",
            "last_name": "Ernst",
            "email": "Emil@Alpha.example",
            "personnel_number": "E-1",
            "employment_type": "internal",
            "hire_date": "2024-03-01",
            "gender": "",
        },
    )
    employee = Employee.objects.get(company=company_a, last_name="Ernst")
    assert response.status_code == 302
    assert response["Location"] == reverse(
        "employees:detail", kwargs={"slug": company_a.slug, "pk": employee.pk}
    )
    assert employee.source == EmployeeSource.MANUAL
    assert employee.status == EmployeeStatus.ACTIVE
    assert employee.hire_date is not None
    assert AuditEvent.objects.filter(
        action="employee.create", actor=hr_a, target=f"employee:{employee.pk}"
    ).exists()


def test_create_refuses_an_email_already_used_in_the_company(
    client_for: ClientFor, hr_a: User, staff: list[Employee], company_b: Company
) -> None:
    make_employee(company_b, email="same@example.com")
    client = client_for(hr_a)
    url = reverse("employees:create", kwargs={"slug": "alpha"})
    taken = client.post(url, {"first_name": "X", "last_name": "Y", "email": "BERTA@alpha.example"})
    assert taken.status_code == 200
    assert "already has this e-mail address" in taken.content.decode()
    # Another company's employee with that address is no conflict.
    ok = client.post(url, {"first_name": "X", "last_name": "Y", "email": "same@example.com"})
    assert ok.status_code == 302


def test_create_shows_errors_for_an_empty_form(
    client_for: ClientFor, hr_a: User, company_a: Company
) -> None:
    response = client_for(hr_a).post(reverse("employees:create", kwargs={"slug": "alpha"}), {})
    assert response.status_code == 200
    assert response.context["form"].errors["last_name"]
    assert not Employee.objects.exists()


def test_edit_changes_master_data_through_the_service(
    client_for: ClientFor, hr_a: User, staff: list[Employee]
) -> None:
    berta = staff[0]
    url = reverse("employees:edit", kwargs={"slug": "alpha", "pk": berta.pk})
    response = client_for(hr_a).post(
        url, {"first_name": "Berta", "last_name": "Braun", "email": berta.email}
    )
    assert response.status_code == 302
    berta.refresh_from_db()
    assert berta.last_name == "Braun"
    assert AuditEvent.objects.filter(action="employee.update", actor=hr_a).exists()


def test_personio_fields_are_read_only_while_connected(
    client_for: ClientFor,
    hr_a: User,
    company_a: Company,
) -> None:
    PersonioIntegration.objects.create(
        company=company_a, status=IntegrationStatus.ACTIVE, client_id="id"
    )
    synced = make_employee(
        company_a, last_name="Synced", source=EmployeeSource.PERSONIO, personio_id=42
    )
    url = reverse("employees:edit", kwargs={"slug": "alpha", "pk": synced.pk})
    client = client_for(hr_a)
    form = client.get(url).context["form"]
    for name in form.fields:
        assert form.fields[name].disabled is (name in PERSONIO_FIELDS)
    client.post(url, {"first_name": "Hacked", "last_name": "Hacked", "gender": "x"})
    synced.refresh_from_db()
    assert synced.last_name == "Synced"

    manual = make_employee(company_a, last_name="Manual")
    form = client.get(reverse("employees:edit", kwargs={"slug": "alpha", "pk": manual.pk})).context[
        "form"
    ]
    assert not any(field.disabled for field in form.fields.values())


def test_personio_connected_follows_the_integration(company_a: Company) -> None:
    assert employee_views.personio_connected(company_a) is False
    integration = PersonioIntegration.objects.create(
        company=company_a, status=IntegrationStatus.ACTIVE, client_id="id"
    )
    assert employee_views.personio_connected(company_a) is True
    integration.status = IntegrationStatus.DISCONNECTED
    integration.save()
    assert employee_views.personio_connected(company_a) is False
