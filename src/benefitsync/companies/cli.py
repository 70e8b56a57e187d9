"""Shared bits of the operator commands."""

from __future__ import annotations

from django.core.management.base import CommandError

from benefitsync.companies.models import Company


def company_by_slug(slug: str) -> Company:
    company = Company.objects.filter(slug=slug).first()
    if company is None:
        raise CommandError(f"No company with slug {slug!r} (see `benefitsync companies list`).")
    return company
