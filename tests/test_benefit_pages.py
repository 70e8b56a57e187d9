"""Adding, changing and ending benefits: through the pages and the services."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse

from benefitsync.accounts.models import User
from benefitsync.audit.models import AuditEvent
from benefitsync.benefits import services
from benefitsync.benefits.models import BenefitType, EmployeeBenefit, EndReason
from benefitsync.companies.models import Company
from benefitsync.employees.models import Employee, EmployeeStatus
from benefitsync.employees.services import (
    ActionRefused,
    company_today,
    do_mark_leaving,
    do_terminate_now,
)
from benefitsync.lib.months import Month
from tests.conftest import ClientFor
from tests.factories import make_benefit, make_employee

pytestmark = pytest.mark.django_db


@pytest.fixture
def anna(company_a: Company) -> Employee:
    return make_employee(company_a, first_name="Anna", last_name="Active")


@pytest.fixture
def this_month(company_a: Company) -> Month:
    return Month.of(company_today(company_a))


def detail_url(employee: Employee) -> str:
    return reverse("employees:detail", kwargs={"slug": employee.company.slug, "pk": employee.pk})


def add_url(employee: Employee) -> str:
    return reverse(
        "benefits:add", kwargs={"slug": employee.company.slug, "employee_id": employee.pk}
    )


def messages_of(response: object) -> list[str]:
    return [str(message) for message in response.context["messages"]]  # type: ignore[attr-defined]


def test_hr_admin_adds_a_benefit(
    client_for: ClientFor, hr_a: User, anna: Employee, this_month: Month
) -> None:
    client = client_for(hr_a)
    form = client.get(add_url(anna))
    assert form.status_code == 200
    assert 'type="month"' in form.content.decode()
    response = client.post(
        add_url(anna),
        {"kind": "meal", "monthly_amount": "108.45", "start_month": str(this_month)},
        follow=True,
    )
    assert response.redirect_chain[-1][0] == detail_url(anna)
    benefit = EmployeeBenefit.objects.get(employee=anna)
    assert benefit.kind == BenefitType.MEAL
    assert benefit.monthly_amount == Decimal("108.45")
    assert benefit.start_month == this_month.first_day
    assert benefit.end_month is None
    assert benefit.company_id == anna.company_id
    assert "108.45 €" in response.content.decode()
    event = AuditEvent.objects.get(action="benefit.add")
    assert event.actor == hr_a
    assert event.details["monthly_amount"] == "108.45"


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"kind": "meal", "monthly_amount": "0", "start_month": "2030-01"}, "monthly_amount"),
        ({"kind": "meal", "monthly_amount": "-5", "start_month": "2030-01"}, "monthly_amount"),
        ({"kind": "meal", "monthly_amount": "1.234", "start_month": "2030-01"}, "monthly_amount"),
        ({"kind": "meal", "monthly_amount": "10", "start_month": "2030-13"}, "start_month"),
        ({"kind": "meal", "monthly_amount": "10", "start_month": "January"}, "start_month"),
        ({"kind": "cash", "monthly_amount": "10", "start_month": "2030-01"}, "kind"),
        (
            {
                "kind": "meal",
                "monthly_amount": "10",
                "start_month": "2030-05",
                "end_month": "2030-04",
            },
            "end_month",
        ),
        ({}, "kind"),
    ],
)
def test_add_form_rejects_bad_input(
    client_for: ClientFor, hr_a: User, anna: Employee, data: dict[str, str], field: str
) -> None:
    response = client_for(hr_a).post(add_url(anna), data)
    assert response.status_code == 200
    assert field in response.context["form"].errors
    assert not EmployeeBenefit.objects.exists()


def test_no_benefit_for_leaving_planned_with_a_clear_message(
    client_for: ClientFor, hr_a: User, anna: Employee, this_month: Month
) -> None:
    do_mark_leaving(
        anna, this_month.next().last_day, today=company_today(anna.company), acting_user=None
    )
    client = client_for(hr_a)
    data = {"kind": "meal", "monthly_amount": "10", "start_month": str(this_month)}
    for response in (
        client.get(add_url(anna), follow=True),
        client.post(add_url(anna), data, follow=True),
    ):
        assert response.redirect_chain[-1][0] == detail_url(anna)
        assert messages_of(response) == [
            "Leaving is planned: no further benefits can be configured."
        ]
    assert not EmployeeBenefit.objects.exists()


def test_no_benefit_change_or_end_after_leaving(
    client_for: ClientFor, hr_a: User, anna: Employee
) -> None:
    benefit = make_benefit(anna)
    do_terminate_now(anna, today=company_today(anna.company), acting_user=None)
    benefit.refresh_from_db()
    before = (benefit.monthly_amount, benefit.end_month, benefit.end_reason)
    client = client_for(hr_a)
    slug = anna.company.slug
    edit = reverse("benefits:edit", kwargs={"slug": slug, "pk": benefit.pk})
    end = reverse("benefits:end", kwargs={"slug": slug, "pk": benefit.pk})
    for response in (
        client.get(edit, follow=True),
        client.post(edit, {"monthly_amount": "99", "start_month": "2024-01"}, follow=True),
        client.get(end, follow=True),
        client.post(end, {"end_month": "2099-01"}, follow=True),
    ):
        assert response.redirect_chain[-1][0] == detail_url(anna)
        assert messages_of(response) == ["The employee has left."]
    benefit.refresh_from_db()
    assert (benefit.monthly_amount, benefit.end_month, benefit.end_reason) == before
    assert benefit.end_reason == EndReason.TERMINATION


def test_hr_admin_changes_a_benefit(client_for: ClientFor, hr_a: User, anna: Employee) -> None:
    benefit = make_benefit(anna, monthly_amount=Decimal("50.00"))
    url = reverse("benefits:edit", kwargs={"slug": "alpha", "pk": benefit.pk})
    client = client_for(hr_a)
    assert client.get(url).context["form"]["start_month"].value() == Month(2024, 1)
    response = client.post(
        url, {"monthly_amount": "60.00", "start_month": "2024-01", "end_month": "2030-12"}
    )
    assert response.status_code == 302
    benefit.refresh_from_db()
    assert benefit.monthly_amount == Decimal("60.00")
    assert benefit.end_month == dt.date(2030, 12, 1)
    assert benefit.end_reason == EndReason.MANUAL
    event = AuditEvent.objects.get(action="benefit.change")
    assert event.details["changes"]["monthly_amount"] == ["50.00", "60.00"]


def test_hr_admin_ends_a_benefit_but_never_in_a_past_month(
    client_for: ClientFor, hr_a: User, anna: Employee, this_month: Month
) -> None:
    benefit = make_benefit(anna)
    url = reverse("benefits:end", kwargs={"slug": "alpha", "pk": benefit.pk})
    client = client_for(hr_a)
    past = client.post(url, {"end_month": str(this_month.previous())}, follow=True)
    assert messages_of(past) == ["A benefit cannot end in a past month."]
    benefit.refresh_from_db()
    assert benefit.end_month is None

    response = client.post(url, {"end_month": str(this_month)}, follow=True)
    label = this_month.first_day.strftime("%B %Y")  # tests run in English
    assert messages_of(response) == [f"The benefit ends at the end of {label}."]
    benefit.refresh_from_db()
    assert benefit.end_month == this_month.first_day
    assert benefit.end_reason == EndReason.MANUAL
    assert AuditEvent.objects.filter(action="benefit.end", actor=hr_a).exists()


def test_benefit_of_another_company_is_not_found(
    client_for: ClientFor, hr_a: User, company_b: Company
) -> None:
    foreign = make_benefit(make_employee(company_b))
    client = client_for(hr_a)
    for name in ("benefits:edit", "benefits:end"):
        url = reverse(name, kwargs={"slug": "alpha", "pk": foreign.pk})
        assert client.get(url).status_code == 404
        assert client.post(url, {"end_month": "2099-01"}).status_code == 404
    url = reverse("benefits:add", kwargs={"slug": "alpha", "employee_id": foreign.employee_id})
    assert client.post(url, {"kind": "meal"}).status_code == 404
    foreign.refresh_from_db()
    assert foreign.end_month is None


# --- the services themselves -------------------------------------------------------------------


def test_add_benefit_service_refuses_leaving_planned_and_left(anna: Employee) -> None:
    today = company_today(anna.company)
    args = {
        "kind": "voucher",
        "monthly_amount": Decimal("50"),
        "start_month": Month.of(today),
        "end_month": None,
        "acting_user": None,
        "today": today,
    }
    services.do_add_benefit(anna, **args)  # type: ignore[arg-type]
    for status in (EmployeeStatus.LEAVING, EmployeeStatus.LEFT):
        Employee.objects.filter(pk=anna.pk).update(status=status)
        with pytest.raises(ActionRefused):
            services.do_add_benefit(anna, **args)  # type: ignore[arg-type]
    assert EmployeeBenefit.objects.count() == 1


def test_service_reads_the_current_status_not_a_stale_object(anna: Employee) -> None:
    # A sync may mark the employee as leaving between the page load and the POST.
    stale = Employee.objects.get(pk=anna.pk)
    Employee.objects.filter(pk=anna.pk).update(status=EmployeeStatus.LEAVING)
    today = company_today(anna.company)
    with pytest.raises(ActionRefused):
        services.do_add_benefit(
            stale,
            kind="meal",
            monthly_amount=Decimal("5"),
            start_month=Month.of(today),
            end_month=None,
            acting_user=None,
            today=today,
        )


def test_change_benefit_service_refuses_end_before_start(anna: Employee) -> None:
    benefit = make_benefit(anna)
    today = company_today(anna.company)
    with pytest.raises(ActionRefused):
        services.do_change_benefit(
            benefit,
            monthly_amount=Decimal("5"),
            start_month=Month(2030, 5),
            end_month=Month(2030, 4),
            acting_user=None,
            today=today,
        )


def test_leaving_rule_overrides_a_hand_set_end_and_undo_restores_it(
    anna: Employee, this_month: Month
) -> None:
    today = company_today(anna.company)
    benefit = make_benefit(anna)
    services.do_end_benefit(
        benefit, end_month=this_month.next().next(), acting_user=None, today=today
    )
    do_mark_leaving(anna, this_month.next().first_day, today=today, acting_user=None)
    benefit.refresh_from_db()
    assert benefit.end_month == this_month.next().first_day
    assert benefit.end_reason == EndReason.LEAVING
