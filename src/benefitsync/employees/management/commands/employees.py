"""`benefitsync employees SLUG --json` — every employee with Personio ID, e-mail, status, last
working month and the missing flag (stable JSON: a list of objects with exactly these keys:
id, personio_id, first_name, last_name, email, status, last_working_month (YYYY-MM|null),
leaving_date (YYYY-MM-DD|null), missing_from_personio, source, invitation_state)."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from benefitsync.companies.cli import company_by_slug
from benefitsync.employees.models import Employee


class Command(BaseCommand):
    help = "List a company's employees."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug")
        parser.add_argument("--json", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        company = company_by_slug(options["slug"])
        rows = []
        for e in Employee.objects.filter(company=company).order_by("id").iterator():
            rows.append(
                {
                    "id": e.pk,
                    "personio_id": e.personio_id,
                    "first_name": e.first_name,
                    "last_name": e.last_name,
                    "email": e.email,
                    "status": e.status,
                    "last_working_month": e.last_working_month.strftime("%Y-%m")
                    if e.last_working_month
                    else None,
                    "leaving_date": e.leaving_date.isoformat() if e.leaving_date else None,
                    "missing_from_personio": e.missing_from_personio,
                    "source": e.source,
                    "invitation_state": e.invitation_state,
                }
            )
        if options["json"]:
            self.stdout.write(json.dumps(rows))
            return
        for r in rows:
            self.stdout.write(
                f"{r['id']:>6} {r['personio_id'] or '-':>8} {r['status']:<8} "
                f"{r['last_working_month'] or '':<8} "
                f"{'MISSING ' if r['missing_from_personio'] else ''}"
                f"{r['first_name']} {r['last_name']} <{r['email']}>"
            )
