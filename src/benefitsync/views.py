"""Site-level views: the landing redirect."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

from benefitsync.companies.access import companies_for


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """Send each role to its start page."""
    companies = list(companies_for(request.user)[:2])
    if len(companies) == 1:
        return redirect("employees:list", slug=companies[0].slug)
    if companies:
        return redirect("companies:switch")
    if getattr(request.user, "is_staff", False):
        return redirect("admin:index")
    return redirect("accounts:login")
