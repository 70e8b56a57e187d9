"""`benefitsync companies create NAME [--slug SLUG]` and `benefitsync companies list`."""

from __future__ import annotations

import json
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from benefitsync.companies.models import Company
from benefitsync.companies.services import do_create_company


class Command(BaseCommand):
    help = "Create or list companies (tenants)."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="Create a company.")
        create.add_argument("name")
        create.add_argument("--slug")
        create.add_argument("--time-zone", default="Europe/Berlin")
        create.add_argument("--json", action="store_true")
        listing = sub.add_parser("list", help="List companies.")
        listing.add_argument("--json", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "create":
            try:
                company = do_create_company(
                    options["name"],
                    slug=options["slug"],
                    time_zone=options["time_zone"],
                    acting_user=None,
                )
            except ValidationError as exc:
                raise CommandError("; ".join(exc.messages)) from None
            if options["json"]:
                self.stdout.write(json.dumps({"slug": company.slug, "name": company.name}))
            else:
                self.stdout.write(f"Created {company.name} ({company.slug})")
            return
        rows = list(Company.objects.values("slug", "name", "time_zone"))
        if options["json"]:
            self.stdout.write(json.dumps(rows))
        else:
            for row in rows:
                self.stdout.write(f"{row['slug']}\t{row['name']}\t{row['time_zone']}")
