"""The one way to resolve which company a request may act on.

Outsiders get 404, never 403: a company's existence is not revealed to people outside it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import QuerySet
from django.http import Http404

from benefitsync.companies.models import Company

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser

    from benefitsync.accounts.models import User


def companies_for(user: User | AnonymousUser) -> QuerySet[Company]:
    """The companies whose portal pages the user may open as HR admin."""
    if not user.is_authenticated or not user.is_active:
        return Company.objects.none()
    return Company.objects.filter(memberships__user=user)


def get_company_for_user(user: User | AnonymousUser, slug: str) -> Company:
    """The company with `slug` if the user is its HR admin; 404 otherwise."""
    company = companies_for(user).filter(slug=slug).first()
    if company is None:
        raise Http404("No such company")
    return company
