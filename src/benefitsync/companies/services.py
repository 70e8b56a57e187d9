"""State changes of companies and memberships."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import transaction
from django.utils.text import slugify

from benefitsync.audit import services as audit
from benefitsync.companies.models import Company

if TYPE_CHECKING:
    from benefitsync.accounts.models import User


@transaction.atomic
def do_create_company(
    name: str,
    *,
    slug: str | None = None,
    time_zone: str = "Europe/Berlin",
    acting_user: User | None,
) -> Company:
    company = Company(name=name.strip(), slug=slug or slugify(name)[:80], time_zone=time_zone)
    company.full_clean()
    company.save()
    audit.record("company.create", company=company, actor=acting_user, target=company.slug)
    return company
