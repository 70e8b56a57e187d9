"""The employee JSON API: the same rules as the pages, session auth with CSRF, and a
property-based run of schemathesis against the served OpenAPI schema."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import schemathesis
from django.core import signals
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.handlers.wsgi import WSGIHandler
from django.db import close_old_connections
from django.test import Client
from hypothesis import HealthCheck, settings

from benefitsync.api.employee import api
from benefitsync.benefits.models import BenefitType, EmployeeBenefit, VoucherSelection
from benefitsync.companies.models import Company
from benefitsync.employees.models import Employee
from benefitsync.employees.services import company_today
from benefitsync.lib.months import Month

from .conftest import PDF, build_employee, client_for

Build = Callable[..., Employee]


@pytest.fixture
def today(company: Company) -> dt.date:
    return company_today(company)


@pytest.fixture
def person(company: Company, today: dt.date) -> Build:
    def make(status: str) -> Employee:
        return build_employee(company, status, today=today)

    return make


def test_the_schema_and_docs_are_served(db: None) -> None:
    schema = Client().get("/api/openapi.json")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    assert {"/api/me/benefits", "/api/me/vouchers", "/api/me/receipts"} <= set(paths)
    assert Client().get("/api/docs").status_code == 200


def test_the_api_needs_a_login_and_an_employee(hr_client: Client) -> None:
    assert Client().get("/api/me/benefits").status_code == 401
    assert hr_client.get("/api/me/benefits").status_code == 404


def test_my_benefits_and_vouchers_are_listed(person: Build, today: dt.date) -> None:
    client = client_for(person("active"))
    benefits = client.get("/api/me/benefits").json()
    assert {b["kind"] for b in benefits} == {"voucher", "meal"}
    vouchers = client.get("/api/me/vouchers").json()
    assert len(vouchers) == 1 and vouchers[0]["code"]
    assert vouchers[0]["month"] == str(Month.of(today).previous())


@pytest.mark.parametrize(
    ("status", "which", "expected"),
    [
        ("active", "this", 201),
        ("active", "next", 201),
        ("leaving", "this", 201),
        ("leaving", "next", 403),
        ("left", "this", 403),
    ],
)
def test_selecting_a_voucher_through_the_api_follows_the_status_rules(
    person: Build, today: dt.date, status: str, which: str, expected: int
) -> None:
    month = Month.of(today) if which == "this" else Month.of(today).next()
    response = client_for(person(status)).post(
        "/api/me/vouchers",
        {"month": str(month), "provider": "rewe"},
        content_type="application/json",
    )
    assert response.status_code == expected, response.content
    if expected == 403:
        assert response.json()["detail"]


@pytest.mark.parametrize(
    ("status", "earlier", "expected"),
    [("left", True, 200), ("left", False, 403), ("active", False, 200)],
)
def test_redeeming_through_the_api_follows_the_status_rules(
    person: Build, today: dt.date, status: str, earlier: bool, expected: int
) -> None:
    employee = person(status)
    current = Month.of(today)
    if earlier:
        selection = VoucherSelection.objects.get(employee=employee)
    else:
        selection = VoucherSelection.objects.create(
            company=employee.company,
            employee=employee,
            benefit=EmployeeBenefit.objects.get(employee=employee, kind=BenefitType.VOUCHER),
            month=current.first_day,
            provider="ikea",
            amount=50,
            code="IKEA-Y",
            issued_at=dt.datetime.now(dt.UTC),
        )
    response = client_for(employee).post(f"/api/me/vouchers/{selection.pk}/redeem")
    assert response.status_code == expected
    if expected == 403:
        assert "earlier months" in response.json()["detail"]


@pytest.mark.parametrize(("status", "expected"), [("active", 201), ("left", 403)])
def test_submitting_a_receipt_through_the_api_follows_the_status_rules(
    person: Build, today: dt.date, status: str, expected: int
) -> None:
    employee = person(status)
    meal = EmployeeBenefit.objects.get(employee=employee, kind=BenefitType.MEAL)
    client = client_for(employee)
    response = client.post(
        "/api/me/receipts",
        {
            "benefit_id": meal.pk,
            "month": str(Month.of(today)),
            "amount": "7.50",
            "file": SimpleUploadedFile("r.pdf", PDF, content_type="application/pdf"),
        },
    )
    assert response.status_code == expected, response.content
    listed = client.get("/api/me/receipts").json()
    assert len(listed) == (1 if expected == 201 else 0)


def test_unsafe_api_calls_need_the_csrf_token(person: Build, today: dt.date) -> None:
    employee = person("active")
    client = Client(enforce_csrf_checks=True)
    assert employee.user is not None
    client.force_login(employee.user)
    body = {"month": str(Month.of(today)), "provider": "rewe"}
    refused = client.post("/api/me/vouchers", body, content_type="application/json")
    assert refused.status_code == 403
    client.cookies["csrftoken"] = "a" * 32
    accepted = client.post(
        "/api/me/vouchers", body, content_type="application/json", headers={"X-CSRFToken": "a" * 32}
    )
    assert accepted.status_code == 201


# --- Property-based: schemathesis against the served schema ----------------------------------

# Built at collection from the API object (no request, no database); calls go through WSGI.
schema = schemathesis.openapi.from_dict(api.get_openapi_schema())
schema.app = WSGIHandler()


@pytest.fixture
def api_session(person: Build) -> Iterator[dict[str, Any]]:
    """A logged-in employee's cookies and CSRF header for every generated call.

    The calls go through Django's real WSGI handler, whose request signals would close the
    test's database connection; Django's own test client detaches that receiver the same way.
    """
    employee = person("active")
    client = client_for(employee)
    token = "b" * 32
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield {
            "cookies": {"sessionid": client.cookies["sessionid"].value, "csrftoken": token},
            "headers": {"X-CSRFToken": token},
        }
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


@schema.parametrize()
@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_the_api_never_fails_and_answers_as_its_schema_says(
    case: Any, api_session: dict[str, Any]
) -> None:
    response = case.call_and_validate(
        cookies=api_session["cookies"],
        headers=api_session["headers"],
        checks=[
            schemathesis.checks.not_a_server_error,
            schemathesis.checks.response_schema_conformance,
        ],
    )
    # The generated calls really run as the logged-in employee, CSRF included.
    assert response.status_code != 401
    assert "CSRF" not in response.text
