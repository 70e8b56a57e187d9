"""The company switcher."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from benefitsync.accounts import access
from benefitsync.accounts.models import User
from benefitsync.companies.access import companies_for, get_company_for_user


def acting_user(request: HttpRequest) -> User:
    """The logged-in user of a view behind an `accounts.access` role, typed for the services."""
    user = request.user
    if not isinstance(user, User):  # the role decorator has run; this only narrows the type
        raise Http404
    return user


@access.logged_in("GET")
def switch(request: HttpRequest) -> HttpResponse:
    """Pick one of the companies the user is HR admin of (`?company=<slug>` jumps straight in)."""
    wanted = request.GET.get("company", "")
    if wanted:
        company = get_company_for_user(request.user, wanted)
        return redirect("employees:list", slug=company.slug)
    companies = list(companies_for(request.user).only("name", "slug"))
    if not companies:
        raise Http404("No company")
    return render(request, "companies/switch.html", {"companies": companies})
