"""The company switcher, and the one way company pages resolve their company."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_safe

from benefitsync.accounts.models import User
from benefitsync.companies.access import companies_for, get_company_for_user
from benefitsync.companies.models import Company


def resolve_company(request: HttpRequest, slug: str) -> Company:
    """The company of a /c/<slug>/ page: 404 for anyone who is not its HR admin.

    Every company view calls this first. It sets `request.company` (the context processor shows
    it to templates) and `request.company_choices` (the header's company switcher).
    """
    company = get_company_for_user(request.user, slug)
    # Plain attributes on the request, read by companies.context_processors and base.html.
    request.company = company  # type: ignore[attr-defined]
    request.company_choices = list(companies_for(request.user).only("name", "slug"))  # type: ignore[attr-defined]
    return company


def acting_user(request: HttpRequest) -> User:
    """The logged-in user of a view behind `login_required`, typed for the services."""
    user = request.user
    if not isinstance(user, User):  # login_required has run; this only narrows the type
        raise Http404
    return user


@login_required
@require_safe
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
