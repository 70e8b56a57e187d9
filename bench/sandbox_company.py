"""The benchmarks' one way to make a portal company connected to the sandbox (Django set up)."""

from __future__ import annotations

from typing import Any


def connected_company(name: str, slug: str, base_url: str) -> Any:
    """A new company connected to the sandbox's published demo credential, without a sync."""
    from benefitsync.companies.models import Company
    from benefitsync.integrations.personio import services
    from benefitsync.integrations.personio.sandbox.state import (
        DEFAULT_CLIENT_ID,
        DEFAULT_CLIENT_SECRET,
    )

    company = Company.objects.create(name=name, slug=slug)
    services.do_connect_personio(
        company,
        client_id=DEFAULT_CLIENT_ID,
        client_secret=DEFAULT_CLIENT_SECRET,
        base_url=base_url,
        acting_user=None,
        first_sync=False,
    )
    return company
