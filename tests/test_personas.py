"""Every named URL, tried by every persona: HR admin of A, HR admin of B, employee of A, support,
anonymous.

The expected outcome of each (URL, persona) lives in `TABLE` below. The test walks the whole URL
configuration, so a URL without a table entry fails `test_every_named_url_is_in_the_table`: a new
page is not done until it says who may open it. Only admin's unnamed patterns (its catch-all and
the legacy `<object_id>/` redirect) are not enumerated: they cannot be reversed and only redirect.

Tenant isolation: every /c/<slug>/ URL answers 404 to everyone but that company's HR admin, for GET
and POST, and HR admin of B gets 404 also with their own slug and an object of company A.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.files.base import ContentFile
from django.db.models import Model
from django.http import HttpResponseBase
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from benefitsync.accounts.models import User
from benefitsync.audit import services as audit
from benefitsync.benefits.models import EmployeeBenefit, Receipt, VoucherSelection
from benefitsync.companies.models import Company
from benefitsync.employees.models import Employee
from benefitsync.integrations.personio.models import SyncRun
from benefitsync.invitations.models import Invitation, OutboundEmail
from benefitsync.lib.months import Month
from benefitsync.payroll.models import PayrollExport
from tests.conftest import ClientFor
from tests.factories import make_benefit, make_employee

ANON, HR_A, HR_B, EMP_A, SUPPORT = "anonymous", "hr_a", "hr_b", "employee_a", "support"
PERSONAS = (ANON, HR_A, HR_B, EMP_A, SUPPORT)

# Outcomes: an HTTP status, or a redirect to one of these pages.
LOGIN = "→login"  # the portal's login page, with ?next=
ADMIN_LOGIN = "→admin-login"  # the back office's login page
REDIRECT = "→elsewhere"  # any other redirect
REFUSED = {400, 401, 403, 404, 405, 422, LOGIN, ADMIN_LOGIN}


# --- the world every persona acts in ------------------------------------------------------------


@dataclass
class World:
    users: dict[str, User | None]
    company_a: Company
    company_b: Company
    employee: Employee  # of company A (the employee persona's own record)
    other: Employee  # another employee of company A, without a user
    benefit: EmployeeBenefit
    voucher: VoucherSelection
    receipt: Receipt
    run: SyncRun
    invitation: Invitation
    email: OutboundEmail
    payroll_export: PayrollExport
    objects: dict[type[Model], Model] = field(default_factory=dict)


def build_world(
    company_a: Company,
    company_b: Company,
    hr_a: User,
    hr_b: User,
    employee_a: User,
    support: User,
) -> World:
    employee = Employee.objects.get(user=employee_a)
    other = make_employee(company_a, first_name="Otto", last_name="Other")
    benefit = make_benefit(employee, kind="voucher")
    month = Month(2024, 3).first_day
    voucher = VoucherSelection.objects.create(
        company=company_a,
        employee=employee,
        benefit=benefit,
        month=month,
        provider="Amazon",
        amount=Decimal("50"),
    )
    meal = make_benefit(other)
    receipt = Receipt.objects.create(
        company=company_a,
        employee=other,
        benefit=meal,
        month=month,
        amount=Decimal("10"),
        file=ContentFile(b"%PDF-1.4 test", name="receipt.pdf"),
    )
    run = SyncRun.objects.create(company=company_a, trigger="manual", status="succeeded")
    invitation = Invitation.objects.create(
        company=company_a,
        employee=other,
        token_hash="0" * 64,
        expires_at=timezone.now() + dt.timedelta(days=7),
    )
    email = OutboundEmail.objects.create(
        company=company_a, key="test:1", to="otto@alpha.example", subject="Hi", body="Hello"
    )
    event = audit.record("test.event", company=company_a, actor=None, target="x")
    payroll_export = PayrollExport.objects.create(
        company=company_a,
        month=month,
        format="csv",
        filename="payroll-alpha-2024-03-benefits.csv",
        content=b"\xef\xbb\xbfPersonnel number",
        checksum="0" * 64,
    )
    world = World(
        users={ANON: None, HR_A: hr_a, HR_B: hr_b, EMP_A: employee_a, SUPPORT: support},
        company_a=company_a,
        company_b=company_b,
        employee=employee,
        other=other,
        benefit=benefit,
        voucher=voucher,
        receipt=receipt,
        run=run,
        invitation=invitation,
        email=email,
        payroll_export=payroll_export,
    )
    for obj in (company_a, hr_a, other, benefit, voucher, receipt, run, invitation, email, event):
        world.objects[type(obj)] = obj
    membership = hr_a.memberships.get()
    world.objects[type(membership)] = membership
    return world


# --- walking the URL configuration --------------------------------------------------------------


def _walk(
    patterns: list[URLPattern | URLResolver], prefix: str, namespace: str
) -> Iterator[tuple[str, str, list[str]]]:
    for pattern in patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            ns = ":".join(filter(None, [namespace, pattern.namespace or ""]))
            yield from _walk(pattern.url_patterns, route, ns)
        elif pattern.name:  # unnamed: admin's catch-all and legacy redirect (see module doc)
            keys = list(pattern.pattern.regex.groupindex)
            yield ":".join(filter(None, [namespace, pattern.name])), route, keys


def all_named_urls() -> list[tuple[str, str, list[str]]]:
    """(name, route, keyword arguments) of every named URL, with the route's parents' arguments."""
    found: dict[str, tuple[str, str, list[str]]] = {}
    for name, route, keys in _walk(get_resolver().url_patterns, "", ""):
        parent_keys = re.findall(r"<(?:\w+:)?(\w+)>", route)
        found.setdefault(name, (name, route, list(dict.fromkeys(parent_keys + keys))))
    return list(found.values())


def _admin_object(name: str, world: World) -> Model:
    app_model = name.removeprefix("admin:").rsplit("_", 1)[0]
    for model, obj in world.objects.items():
        if f"{model._meta.app_label}_{model._meta.model_name}" == app_model:
            return obj
    raise LookupError(f"no object of {app_model} in the world: add one to build_world")


# Which object each URL argument names, per URL namespace (always an object of company A).
PK_OF: dict[str, Callable[[World], Model]] = {
    "employees": lambda w: w.other,
    "employee_actions:terminate": lambda w: w.other,
    "employee_actions:delete": lambda w: w.other,
    "employee_actions:invite": lambda w: w.other,
    "employee_actions:receipt_decide": lambda w: w.receipt,
    "employee_actions:receipt_file": lambda w: w.receipt,
    "benefits": lambda w: w.benefit,
    "personio": lambda w: w.run,
    "employee_area": lambda w: w.voucher,
    "support": lambda w: w.company_a,
    "payroll": lambda w: w.payroll_export,
}


def url_for(name: str, keys: list[str], world: World, *, slug: str) -> str:
    kwargs: dict[str, Any] = {}
    for key in keys:
        if key == "slug":
            kwargs[key] = slug
        elif key == "employee_id":
            kwargs[key] = world.other.pk
        elif key in {"pk", "id"} and name.startswith("admin:"):
            kwargs[key] = world.users[HR_A].pk  # type: ignore[union-attr]
        elif key == "pk":
            chooser = PK_OF.get(name) or PK_OF[name.split(":")[0]]
            kwargs[key] = chooser(world).pk
        elif key == "object_id":
            if key not in kwargs:  # view_on_site sets it with its content type
                kwargs[key] = _admin_object(name, world).pk
        elif key == "content_type_id":  # admin:view_on_site
            kwargs[key] = ContentType.objects.get_for_model(Company).pk
            kwargs["object_id"] = world.company_a.pk
        elif key == "app_label":
            kwargs[key] = "employees"
        elif key == "uidb64":
            kwargs[key] = "MQ"
        elif key == "token":
            kwargs[key] = "not-a-valid-token"
        elif key == "voucher_id":
            kwargs[key] = world.voucher.pk
        elif key == "key":  # a webhook receiver: nobody's (every receiver needs its token)
            kwargs[key] = uuid.UUID(int=1)
        else:
            raise LookupError(f"{name}: no value for URL argument {key!r}; add one to url_for")
    return reverse(name, kwargs=kwargs)


def outcome_of(response: HttpResponseBase) -> int | str:
    if response.status_code in (301, 302, 303):
        location = response["Location"]
        if location.startswith(reverse("admin:login")):
            return ADMIN_LOGIN
        if location.startswith(reverse("accounts:login")):
            return LOGIN
        return REDIRECT
    return response.status_code


# --- the table ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    """Expected outcome of GET per persona; POST expectations for personas that must be refused
    default to their GET outcome (a refused persona is refused whatever the method)."""

    get: dict[str, int | str]
    post: dict[str, int | str] = field(default_factory=dict)

    def post_expectations(self) -> dict[str, int | str]:
        expected = {p: o for p, o in self.get.items() if o in REFUSED and o != 405}
        expected.update(self.post)
        return expected


Outcome = int | str


def row(
    anon: Outcome,
    hr_a: Outcome,
    hr_b: Outcome,
    emp_a: Outcome,
    support: Outcome,
    post: dict[str, Outcome] | None = None,
) -> Row:
    return Row({ANON: anon, HR_A: hr_a, HR_B: hr_b, EMP_A: emp_a, SUPPORT: support}, post or {})


def company_page(hr_a: int | str = 200) -> Row:
    """A /c/<slug>/ page: only the company's HR admin gets in; everyone else 404, anonymous
    is sent to log in."""
    return row(LOGIN, hr_a, 404, 404, 404)


def support_page(support: int | str = 200) -> Row:
    return row(LOGIN, 404, 404, 404, support)


def admin_page(support: int | str = 200) -> Row:
    """The back office: support only; everyone else is sent to the admin login."""
    return row(ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, support)


def admin_model(
    app_model: str, *, add: int = 200, change: int = 200, delete: int = 200
) -> dict[str, Row]:
    return {
        f"admin:{app_model}_changelist": admin_page(),
        f"admin:{app_model}_add": admin_page(add),
        f"admin:{app_model}_change": admin_page(change),
        f"admin:{app_model}_history": admin_page(),
        f"admin:{app_model}_delete": admin_page(delete),
    }


READ_ONLY = {"add": 403, "delete": 403}  # change shows the read-only page (200)
NOT_ALLOWED = {ANON: LOGIN, HR_A: 405, HR_B: 405, EMP_A: 405, SUPPORT: 405}


def post_only_company_action() -> Row:
    """A POST-only action under /c/<slug>/: GET is 405 for everyone (it is checked before the
    company, and says nothing about it); POST is 404 for outsiders."""
    return Row(NOT_ALLOWED, {HR_B: 404, EMP_A: 404, SUPPORT: 404})


def get_only_company_page(hr_a: Outcome = 200) -> Row:
    """A read-only page under /c/<slug>/: a POST is 405 for everyone, whoever asks."""
    return Row(company_page(hr_a).get, {HR_B: 405, EMP_A: 405, SUPPORT: 405})


TABLE: dict[str, Row] = {
    "home": row(LOGIN, REDIRECT, REDIRECT, REDIRECT, REDIRECT),
    # Logged-in users are sent on from the login page (redirect_authenticated_user).
    "accounts:login": row(200, REDIRECT, REDIRECT, REDIRECT, REDIRECT),
    "accounts:logout": Row(
        dict.fromkeys(PERSONAS, 405), {ANON: LOGIN, HR_B: LOGIN, EMP_A: LOGIN, SUPPORT: LOGIN}
    ),
    # Password reset: open to anyone (an unknown link shows its own page); change: logged in.
    "accounts:password_reset": row(200, 200, 200, 200, 200),
    "accounts:password_reset_done": Row(dict.fromkeys(PERSONAS, 200), dict.fromkeys(PERSONAS, 405)),
    "accounts:password_reset_confirm": row(200, 200, 200, 200, 200),
    "accounts:password_reset_complete": Row(
        dict.fromkeys(PERSONAS, 200), dict.fromkeys(PERSONAS, 405)
    ),
    "accounts:password_change": row(LOGIN, 200, 200, 200, 200),
    "accounts:password_change_done": row(LOGIN, 200, 200, 200, 200),
    "set_language": row(REDIRECT, REDIRECT, REDIRECT, REDIRECT, REDIRECT),
    "companies:switch": row(LOGIN, 200, 200, 404, 404, post={HR_B: 405, EMP_A: 405, SUPPORT: 405}),
    # Company pages (the employer portal)
    "employees:list": get_only_company_page(),
    "employees:create": company_page(),
    "employees:export": get_only_company_page(),
    "employees:bulk": post_only_company_action(),
    "employees:detail": get_only_company_page(),
    "employees:edit": company_page(),
    "employee_actions:terminate": company_page(),
    "employee_actions:delete": company_page(),
    "employee_actions:invite": company_page(),
    "employee_actions:receipt_decide": company_page(),
    "employee_actions:receipt_file": get_only_company_page(),
    "benefits:add": company_page(),
    "benefits:edit": company_page(),
    "benefits:end": company_page(),
    "payroll:overview": get_only_company_page(),
    "payroll:export": post_only_company_action(),
    "payroll:download": get_only_company_page(),
    "payroll:close": post_only_company_action(),
    "payroll:settings": company_page(),
    "benefits:receipts": get_only_company_page(),
    "benefits:receipts_approve": post_only_company_action(),
    "benefits:vouchers": get_only_company_page(),
    "personio:integration": get_only_company_page(),
    "personio:connect": post_only_company_action(),
    "personio:auto_invite": post_only_company_action(),
    "personio:sync_now": post_only_company_action(),
    "personio:pause": post_only_company_action(),
    "personio:repair_webhooks": post_only_company_action(),
    "personio:delta_interval": post_only_company_action(),
    # Personio's deliveries: POST only, authenticated by the token in Authorization, not by a
    # login; an unknown receiver is 404 for everyone (tests/sync/test_events.py has the rest).
    "personio_webhook": Row(dict.fromkeys(PERSONAS, 405), dict.fromkeys(PERSONAS, 404)),
    "personio:resume": post_only_company_action(),
    "personio:preview": get_only_company_page(REDIRECT),  # not connected: back to the integration
    "personio:disconnect": company_page(),
    "personio:runs": get_only_company_page(),
    "personio:run": get_only_company_page(),
    "personio:run_status": get_only_company_page(),
    "personio:run_csv": get_only_company_page(),
    "personio:confirm_run": post_only_company_action(),
    "personio:discard_run": post_only_company_action(),
    "personio:allow_again": post_only_company_action(),
    # The employee area: only the employee; an HR admin or support is nobody's employee here.
    "employee_area:home": row(LOGIN, 404, 404, 200, 404, post={HR_A: 405, HR_B: 405, SUPPORT: 405}),
    "employee_area:select_voucher": Row(NOT_ALLOWED, {HR_A: 404, HR_B: 404, SUPPORT: 404}),
    "employee_area:redeem_voucher": Row(NOT_ALLOWED, {HR_A: 404, HR_B: 404, SUPPORT: 404}),
    "employee_area:receipts": row(LOGIN, 404, 404, 200, 404),
    "employee_area:signup": row(404, 404, 404, 404, 404),  # an unknown token
    # The employee JSON API (session auth; CSRF on unsafe methods)
    "api:openapi-json": row(200, 200, 200, 200, 200),
    "api:openapi-view": row(200, 200, 200, 200, 200),
    "api:api-root": row(404, 404, 404, 404, 404),
    "api:me": Row(row(401, 404, 404, 200, 404).get, dict.fromkeys(PERSONAS, 405)),
    "api:my_benefits": Row(row(401, 404, 404, 200, 404).get, dict.fromkeys(PERSONAS, 405)),
    "api:voucher_providers": Row(row(401, 200, 200, 200, 200).get, dict.fromkeys(PERSONAS, 405)),
    # GET and POST share a path: GET lists, POST selects (refused before the body is read).
    "api:my_vouchers": row(401, 404, 404, 200, 404, post={HR_A: 400, HR_B: 400, SUPPORT: 400}),
    "api:select_voucher": row(401, 404, 404, 200, 404, post={HR_A: 400, HR_B: 400, SUPPORT: 400}),
    "api:redeem_voucher": Row(
        dict.fromkeys(PERSONAS, 405),
        {ANON: 401, HR_A: 404, HR_B: 404, EMP_A: 403, SUPPORT: 404},  # employee: no CSRF token
    ),
    "api:my_receipts": row(401, 404, 404, 200, 404, post={HR_A: 422, HR_B: 422, SUPPORT: 422}),
    "api:submit_receipt": row(401, 404, 404, 200, 404, post={HR_A: 422, HR_B: 422, SUPPORT: 422}),
    # Operations: liveness and metrics for the load balancer and Prometheus
    "ops:health": Row(dict.fromkeys(PERSONAS, 200), dict.fromkeys(PERSONAS, 405)),
    "ops:metrics": Row(dict.fromkeys(PERSONAS, 200), dict.fromkeys(PERSONAS, 405)),
    # Support
    "support:companies": support_page(),
    "support:filter": support_page(),
    "support:integration": row(LOGIN, 404, 404, 404, 200, post={SUPPORT: 405}),
    # The back office (Django admin)
    "admin:index": admin_page(),
    "admin:login": row(200, 200, 200, 200, REDIRECT),
    "admin:logout": row(REDIRECT, REDIRECT, REDIRECT, REDIRECT, 405),
    "admin:password_change": admin_page(),
    "admin:password_change_done": admin_page(),
    # needs app_label/model_name/field_name parameters; GET only
    "admin:autocomplete": Row(admin_page(403).get, {SUPPORT: 405}),
    "admin:jsi18n": admin_page(),
    "admin:view_on_site": admin_page(404),  # companies have no public page
    "admin:app_list": admin_page(),
    "admin:auth_user_password_change": admin_page(),
    **admin_model("accounts_user"),
    **admin_model("companies_company"),
    **admin_model("companies_membership"),
    **admin_model("employees_employee", **READ_ONLY),
    **admin_model("audit_auditevent", **READ_ONLY),
    **admin_model("benefits_employeebenefit", **READ_ONLY),
    **admin_model("benefits_voucherselection", **READ_ONLY),
    **admin_model("benefits_receipt", **READ_ONLY),
    **admin_model("invitations_invitation", **READ_ONLY),
    **admin_model("invitations_outboundemail", **READ_ONLY),
}


# --- the tests ----------------------------------------------------------------------------------


def test_every_named_url_is_in_the_table() -> None:
    names = {name for name, _route, _keys in all_named_urls()}
    missing = sorted(names - set(TABLE))
    stale = sorted(set(TABLE) - names)
    assert not missing, f"URLs without an entry in test_personas.TABLE: {missing}"
    assert not stale, f"TABLE entries for URLs that no longer exist: {stale}"


def _company_urls() -> list[tuple[str, list[str]]]:
    return [(name, keys) for name, _route, keys in all_named_urls() if "slug" in keys]


def test_every_company_url_is_closed_to_outsiders() -> None:
    """Under /c/<slug>/ only the company's HR admin gets in: everyone else gets 404 (anonymous:
    the login page), for GET and POST, except 405 for a method the view allows nobody."""
    for name, _keys in _company_urls():
        entry = TABLE[name]
        assert entry.get[ANON] == LOGIN, name
        post = entry.post_expectations()
        for persona in (HR_B, EMP_A, SUPPORT):
            get_ok = entry.get[persona] == 404 or entry.get[HR_A] == entry.get[persona] == 405
            assert get_ok, f"GET {name} as {persona}: {entry.get[persona]}"
            assert post.get(persona) in (404, 405), f"POST {name} as {persona}: not refused"
            if post[persona] == 405:
                assert entry.get[persona] == 404, f"{name} refuses both methods with 405"


@pytest.fixture
def world(
    company_a: Company,
    company_b: Company,
    hr_a: User,
    hr_b: User,
    employee_a: User,
    support: User,
    settings: Any,
    tmp_path: Path,
) -> World:
    settings.MEDIA_ROOT = tmp_path
    return build_world(company_a, company_b, hr_a, hr_b, employee_a, support)


def _snapshot(world: World) -> list[Any]:
    """What an outsider's POST must not change."""
    return [
        list(Employee.objects.order_by("pk").values()),
        list(EmployeeBenefit.objects.order_by("pk").values()),
        list(VoucherSelection.objects.order_by("pk").values()),
        list(Receipt.objects.order_by("pk").values()),
        list(SyncRun.objects.order_by("pk").values("pk", "status")),
        list(Company.objects.order_by("pk").values()),
    ]


@pytest.mark.django_db
@pytest.mark.parametrize("name", sorted(TABLE))
def test_persona_outcomes(name: str, world: World, client_for: ClientFor) -> None:
    keys = next((k for n, _r, k in all_named_urls() if n == name), None)
    if keys is None:
        pytest.skip(
            f"{name} is not in the URL configuration (test_every_named_url_is_in_the_table fails)"
        )
    url = url_for(name, keys, world, slug=world.company_a.slug)
    expected = TABLE[name]
    clients: dict[str, Client] = {p: client_for(world.users[p]) for p in PERSONAS}
    before = _snapshot(world)

    got = {p: outcome_of(clients[p].get(url)) for p in PERSONAS}
    assert got == expected.get, f"GET {url}"

    expected_post = expected.post_expectations()
    got_post = {p: outcome_of(clients[p].post(url)) for p in expected_post}
    assert got_post == expected_post, f"POST {url}"
    refused_post = {p for p, o in expected_post.items() if o in REFUSED}
    if refused_post:
        assert _snapshot(world) == before, f"a refused POST to {url} changed data"


@pytest.mark.django_db
@pytest.mark.parametrize("name", sorted(n for n, k in _company_urls() if k != ["slug"]))
def test_hr_admin_of_b_cannot_reach_a_s_objects_through_b_s_slug(
    name: str, world: World, client_for: ClientFor
) -> None:
    keys = next(k for n, _r, k in all_named_urls() if n == name)
    url = url_for(name, keys, world, slug=world.company_b.slug)
    client = client_for(world.users[HR_B])
    before = _snapshot(world)
    # 405 only where the method is allowed to nobody (see the table); otherwise 404.
    entry = TABLE[name]
    expected_get = 405 if entry.get[HR_A] == 405 else 404
    expected_post = 405 if entry.post.get(HR_B) == 405 else 404
    assert client.get(url).status_code == expected_get, f"GET {url}"
    assert client.post(url).status_code == expected_post, f"POST {url}"
    assert _snapshot(world) == before
