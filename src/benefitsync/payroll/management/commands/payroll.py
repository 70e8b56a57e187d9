"""`benefitsync payroll export SLUG --month YYYY-MM --format csv|datev-lodas [--output FILE]`
writes the month's payroll file (stdout by default) and records the export like a download does;
`benefitsync payroll close SLUG --month YYYY-MM` closes the month.

Lines that cannot be imported (no personnel number, no wage type) are printed to stderr and the
command exits with status 1 after writing the file: never silently dropped.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from benefitsync.companies.cli import company_by_slug
from benefitsync.employees.services import company_today
from benefitsync.lib.months import Month
from benefitsync.payroll import services
from benefitsync.payroll.models import ExportFormat
from benefitsync.payroll.writers import Problem


def _month(text: str) -> Month:
    try:
        return Month.parse(text)
    except ValueError:
        raise CommandError(f"--month must be YYYY-MM, not {text!r}") from None


class Command(BaseCommand):
    help = "Export a month's payroll file (CSV or DATEV LODAS) or close a payroll month."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        export = sub.add_parser("export", help="Write the month's payroll file.")
        export.add_argument("slug")
        export.add_argument("--month", required=True, help="YYYY-MM")
        export.add_argument("--format", required=True, choices=[f.value for f in ExportFormat])
        export.add_argument("--output", help="file to write (default: stdout)")
        close = sub.add_parser("close", help="Close (freeze) a payroll month.")
        close.add_argument("slug")
        close.add_argument("--month", required=True, help="YYYY-MM")

    def handle(self, *args: Any, **options: Any) -> None:
        company = company_by_slug(options["slug"])
        month = _month(options["month"])
        if options["action"] == "close":
            try:
                services.do_close_month(
                    company, month, today=company_today(company), acting_user=None
                )
            except services.PayrollRefused as refused:
                raise CommandError(str(refused)) from None
            self.stdout.write(f"Closed {month} of {company.slug}.")
            return
        try:
            record = services.do_export(company, month, options["format"], acting_user=None)
        except services.PayrollRefused as refused:
            raise CommandError(str(refused)) from None
        content = bytes(record.content)
        if options["output"]:
            Path(options["output"]).write_bytes(content)
        else:
            self._write_bytes(content)
        self.stderr.write(
            f"Export {record.pk}: {record.filename}, {record.line_count} lines, "
            f"sha256 {record.checksum}"
        )
        if record.problems:
            for data in record.problems:
                self.stderr.write(f"ERROR: {Problem.from_json(data).message()}")
            raise CommandError(f"{len(record.problems)} problem(s): see above.")

    def _write_bytes(self, content: bytes) -> None:
        # The file is bytes (a BOM for Excel, Windows-1252 for LODAS): written to the binary
        # stream underneath, not re-encoded by the text wrapper. A caller that passed a text
        # stream (call_command(stdout=StringIO())) gets the text.
        stream = getattr(self.stdout, "_out", sys.stdout)
        binary = getattr(stream, "buffer", None)
        if binary is not None:
            stream.flush()
            binary.write(content)
            binary.flush()
            return
        encoding = "cp1252" if not content.startswith(b"\xef\xbb\xbf") else "utf-8-sig"
        stream.write(content.decode(encoding))
