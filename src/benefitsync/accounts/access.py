"""The one access layer: one decorator per role, each stating the HTTP methods its view accepts.

Every view of the project and every operation of the JSON API carries exactly one of these:

- `public(*methods)`: anyone (login, sign-up, health, metrics);
- `logged_in(*methods)`: any logged-in user (the start page, the company switcher);
- `hr_admin(*methods)`: the HR admin of the company in the URL's `slug`; the view reads the
  company with `company_of(request)`;
- `employee(*methods)`: a user linked to an employee; the view reads it with
  `employee_of(request)` (in the JSON API as well);
- `support(*methods)`: support staff (`user.is_support`).

What each answers, in this order:

1. not logged in: the login page with `?next=` (the JSON API's session auth answers 401
   before, and its operations state their methods to django-ninja as well);
2. for `public`, `logged_in`, `hr_admin` and `employee`: a method the view does not accept
   is 405, the same for everyone, so it says nothing about a company or an employee;
3. not in the role: 404, never 403 — a company's existence is not revealed to outsiders, and
   the back office does not reveal that it exists (support checks the role before the method,
   so a stranger's POST to a back-office page is 404 too).

"GET" also admits HEAD (a GET without its body). The back office (`/admin/`) is Django's own:
staff only, its login goes through the same throttle (`accounts/backends.py`).
"""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpRequest, HttpResponseNotAllowed

from benefitsync.companies.access import companies_for, get_company_for_user
from benefitsync.companies.models import Company
from benefitsync.employees.models import Employee

View = TypeVar("View", bound=Callable[..., Any])


def _allowed(methods: tuple[str, ...]) -> frozenset[str]:
    if not methods:
        raise ValueError("state the HTTP methods the view accepts")
    allowed = {m.upper() for m in methods}
    if "GET" in allowed:
        allowed.add("HEAD")
    return frozenset(allowed)


def _role(
    methods: tuple[str, ...],
    check: Callable[[HttpRequest, tuple[Any, ...], dict[str, Any]], None] | None,
    *,
    login: bool,
    role_before_method: bool = False,
) -> Callable[[View], View]:
    allowed = _allowed(methods)

    def decorate(view: View) -> View:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
            if login and not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if role_before_method and check is not None:
                check(request, args, kwargs)
            if request.method not in allowed:
                return HttpResponseNotAllowed(sorted(allowed))
            if not role_before_method and check is not None:
                check(request, args, kwargs)
            return view(request, *args, **kwargs)

        wrapper.allowed_methods = allowed  # type: ignore[attr-defined]  # read by tests
        # django-ninja reads an operation's parameter types from its signature and evaluates
        # string annotations in the *wrapper's* module: hand it the evaluated signature. Web
        # views may annotate with names only imported for type checking; they need none.
        with contextlib.suppress(NameError):
            wrapper.__signature__ = inspect.signature(view, eval_str=True)  # type: ignore[attr-defined]
        return cast(View, wrapper)

    return decorate


def public(*methods: str) -> Callable[[View], View]:
    """Anyone may call the view with these methods."""
    return _role(methods, None, login=False)


def logged_in(*methods: str) -> Callable[[View], View]:
    """Any logged-in user, whatever their role."""
    return _role(methods, None, login=True)


def _resolve_company(request: HttpRequest, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    slug = kwargs["slug"] if "slug" in kwargs else args[0]
    company = get_company_for_user(request.user, slug)
    # Plain attributes on the request, read by companies.context_processors and base.html.
    request.company = company  # type: ignore[attr-defined]
    request.company_choices = list(companies_for(request.user).only("name", "slug"))  # type: ignore[attr-defined]


def hr_admin(*methods: str) -> Callable[[View], View]:
    """The HR admin of the company in the URL (`slug`); 404 for everyone else."""
    return _role(methods, _resolve_company, login=True)


def _resolve_employee(request: HttpRequest, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    found = None
    if request.user.is_authenticated and request.user.is_active:
        found = Employee.objects.select_related("company").filter(user_id=request.user.pk).first()
    if found is None:
        raise Http404("Not an employee")
    request.employee = found  # type: ignore[attr-defined]


def employee(*methods: str) -> Callable[[View], View]:
    """A user linked to an employee (their own records only); 404 for everyone else."""
    return _role(methods, _resolve_employee, login=True)


def _check_support(request: HttpRequest, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    if not getattr(request.user, "is_support", False):
        raise Http404("No such page")


def support(*methods: str) -> Callable[[View], View]:
    """Support staff only; 404 for everyone else, whatever the method."""
    return _role(methods, _check_support, login=True, role_before_method=True)


def company_of(request: HttpRequest) -> Company:
    """The company `hr_admin` resolved for this request."""
    company: Company = request.company  # type: ignore[attr-defined]
    return company


def employee_of(request: HttpRequest) -> Employee:
    """The employee `employee` resolved for this request."""
    found: Employee = request.employee  # type: ignore[attr-defined]
    return found
