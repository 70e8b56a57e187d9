"""Runs inside the cluster's environment (its own DATABASE_URL/REDIS_URL) as a subprocess:

    python -m tests.scale.driver setup --companies 200 --base-url http://127.0.0.1:P
    python -m tests.scale.driver schedule            # schedule.schedule_due(), prints the count
    python -m tests.scale.driver make-due            # every integration due again (next cycle)
    python -m tests.scale.driver request-manual      # "Synchronize now" for every company

Kept out of the test process on purpose: the test process's Django is bound to pytest-django's
database, while the workers and this driver share a dedicated database of their own.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys


def _django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "benefitsync.settings")
    import django

    django.setup()


def setup(companies: int, base_url: str, prefix: str) -> dict[str, int]:
    """Create `companies` companies connected to the sandbox, not yet due."""
    from django.db import transaction
    from django.utils import timezone

    from benefitsync.companies.models import Company
    from benefitsync.integrations.personio import services
    from benefitsync.integrations.personio.models import IntegrationStatus, PersonioIntegration
    from benefitsync.integrations.personio.sandbox.state import (
        DEFAULT_CLIENT_ID,
        DEFAULT_CLIENT_SECRET,
    )

    first = Company.objects.create(name=f"{prefix} 0000", slug=f"{prefix}-0000")
    # One real connect (validates the credential against the sandbox); the other companies share
    # that credential (several companies may read one Personio account) and are copied in bulk.
    template = services.do_connect_personio(
        first,
        client_id=DEFAULT_CLIENT_ID,
        client_secret=DEFAULT_CLIENT_SECRET,
        base_url=base_url,
        acting_user=None,
        first_sync=False,
    )
    with transaction.atomic():
        others = Company.objects.bulk_create(
            Company(name=f"{prefix} {n:04d}", slug=f"{prefix}-{n:04d}") for n in range(1, companies)
        )
        now = timezone.now()
        PersonioIntegration.objects.bulk_create(
            PersonioIntegration(
                company=company,
                status=IntegrationStatus.ACTIVE,
                base_url=template.base_url,
                client_id=template.client_id,
                client_secret_encrypted=template.client_secret_encrypted,
                connected_at=now,
                next_sync_at=now + dt.timedelta(days=1),
            )
            for company in others
        )
        PersonioIntegration.objects.filter(pk=template.pk).update(
            next_sync_at=now + dt.timedelta(days=1)
        )
    return {"companies": Company.objects.count()}


def make_due() -> dict[str, int]:
    """Every active integration's daily slot is now (a new daily cycle begins)."""
    from django.utils import timezone

    from benefitsync.integrations.personio.models import IntegrationStatus, PersonioIntegration

    n = PersonioIntegration.objects.filter(status=IntegrationStatus.ACTIVE).update(
        next_sync_at=timezone.now() - dt.timedelta(seconds=1)
    )
    return {"due": n}


def schedule() -> dict[str, int]:
    from benefitsync.integrations.personio import schedule as daily

    return {"queued": daily.schedule_due()}


def request_manual() -> dict[str, int]:
    """ "Synchronize now" for every company, as HR admins clicking during the daily cycle."""
    from benefitsync.companies.models import Company
    from benefitsync.integrations.personio.models import Trigger
    from benefitsync.integrations.personio.sync import AlreadyRunning, request_sync

    queued = refused = 0
    for company in Company.objects.order_by("-pk"):
        try:
            request_sync(company, Trigger.MANUAL)
            queued += 1
        except AlreadyRunning:
            refused += 1
    return {"queued": queued, "already_running": refused}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.scale.driver")
    sub = parser.add_subparsers(dest="command", required=True)
    p_setup = sub.add_parser("setup")
    p_setup.add_argument("--companies", type=int, required=True)
    p_setup.add_argument("--base-url", required=True)
    p_setup.add_argument("--prefix", default="scale")
    sub.add_parser("make-due")
    sub.add_parser("schedule")
    sub.add_parser("request-manual")
    args = parser.parse_args(argv)
    _django()
    if args.command == "setup":
        result = setup(args.companies, args.base_url, args.prefix)
    elif args.command == "make-due":
        result = make_due()
    elif args.command == "request-manual":
        result = request_manual()
    else:
        result = schedule()
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
