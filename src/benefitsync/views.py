"""Site-level views: the landing redirect."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from benefitsync.accounts import access
from benefitsync.companies.access import companies_for
from benefitsync.companies.views import acting_user
from benefitsync.employees.models import Employee


@access.logged_in("GET")
def home(request: HttpRequest) -> HttpResponse:
    """Send each role to its start page: HR admin of one company → its employees, of several →
    the switcher; support → the back office; employee → their area. A user with no role yet
    (say, a membership removed) sees why instead of a redirect loop through the login page."""
    companies = list(companies_for(request.user).only("slug")[:2])
    if len(companies) == 1:
        return redirect("employees:list", slug=companies[0].slug)
    if companies:
        return redirect("companies:switch")
    if getattr(request.user, "is_support", False):
        return redirect("support:companies")
    if Employee.objects.filter(user=acting_user(request)).exists():
        return redirect("employee_area:home")
    return render(request, "no_role.html", status=403)
