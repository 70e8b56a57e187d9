"""One month field and validator for every form and the JSON API: exactly YYYY-MM, from 2000-01
to 2099-12. A month in year 0 was a 500; 1899-12 and 9999-12 were accepted."""

from __future__ import annotations

import json

import pytest
from django import forms
from django.urls import reverse

from benefitsync.accounts.models import User
from benefitsync.benefits.forms import BenefitChangeForm, BenefitEndForm, BenefitForm
from benefitsync.companies.models import Company
from benefitsync.employee_area.forms import ReceiptForm, VoucherSelectForm
from benefitsync.employees.models import Employee
from benefitsync.lib.months import Month, parse_entered
from tests.conftest import ClientFor
from tests.factories import make_employee

BAD = ["0000-05", "1899-12", "1999-12", "2100-01", "9999-12", "2026-13", "2026-00", "2026-5", ""]
FORMS: list[tuple[type[forms.Form], str]] = [
    (BenefitForm, "start_month"),
    (BenefitChangeForm, "start_month"),
    (BenefitEndForm, "end_month"),
    (VoucherSelectForm, "month"),
    (ReceiptForm, "month"),
]


@pytest.mark.parametrize(("form_class", "field"), FORMS)
@pytest.mark.parametrize("text", [t for t in BAD if t])
def test_every_form_refuses_a_month_outside_the_range(
    form_class: type[forms.Form], field: str, text: str
) -> None:
    form = form_class(data={field: text})
    assert not form.is_valid()
    assert field in form.errors


@pytest.mark.parametrize(("form_class", "field"), FORMS)
def test_every_form_takes_a_month_of_this_century(form_class: type[forms.Form], field: str) -> None:
    form = form_class(data={field: "2026-05"})
    form.is_valid()
    assert field not in form.errors


@pytest.mark.parametrize("text", BAD)
def test_the_validator_refuses_bad_months(text: str) -> None:
    with pytest.raises(ValueError):
        parse_entered(text)


def test_the_validator_keeps_the_range_ends() -> None:
    assert parse_entered("2000-01") == Month(2000, 1)
    assert parse_entered(" 2099-12 ") == Month(2099, 12)


@pytest.mark.django_db
def test_a_benefit_starting_in_year_zero_is_a_form_error_not_a_server_error(
    company_a: Company, hr_a: User, client_for: ClientFor
) -> None:
    other = make_employee(company_a, first_name="Otto")
    response = client_for(hr_a).post(
        reverse("benefits:add", kwargs={"slug": company_a.slug, "employee_id": other.pk}),
        {"kind": "meal", "monthly_amount": "50", "start_month": "0000-05"},
    )
    assert response.status_code == 200
    assert "start_month" in response.context["form"].errors


@pytest.mark.django_db
@pytest.mark.parametrize("month", ["1899-12", "9999-12", "0000-05"])
def test_the_api_refuses_a_month_outside_the_range(
    month: str, employee_a: User, client_for: ClientFor
) -> None:
    assert Employee.objects.filter(user=employee_a).exists()
    response = client_for(employee_a).post(
        "/api/me/vouchers",
        json.dumps({"month": month, "provider": "amazon"}),
        content_type="application/json",
    )
    assert response.status_code == 422
