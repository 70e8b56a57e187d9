"""The payroll files: CSV for German Excel and the DATEV LODAS ASCII import. Pure: a `Statement`
in, bytes out (no ORM, no clock); golden-file tests in tests/payroll/test_writers.py.

DATEV LODAS ASCII import (DATEV's "LODAS – Schnittstellenbeschreibung ASCII-Import"; fields used
and how to import: docs/payroll.md):

    [Allgemein]            target LODAS, interface version, consultant and client number, formats
    [Satzbeschreibung]     record 10 = u_lod_bwd_buchung_standard (standard movement data):
                           abrechnung_zeitraum, pnr, la_eigene, bs_nr, bs_wert_butab
    [Bewegungsdaten]       10;<first day of the month>;<personnel number>;<wage type>;4;<amount>;

Bearbeitungsschlüssel (bs_nr) 4 = amount in euro. LODAS reads the file in the Windows code page
with CRLF line ends; only lines with a personnel number and a wage type can be imported, every
other line is listed as an error comment at the top instead of being dropped silently.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import Any

from django.utils.translation import gettext as _

from benefitsync.lib.months import Month
from benefitsync.payroll import labels
from benefitsync.payroll.figures import Line


class ProblemCode(StrEnum):
    NO_PERSONNEL_NUMBER = "no_personnel_number"
    NOT_A_LODAS_NUMBER = "not_a_lodas_number"
    NO_WAGE_TYPE = "no_wage_type"


# LODAS personnel numbers are numbers of up to 5 digits.
_LODAS_PNR = re.compile(r"^\d{1,5}$")


@dataclass(frozen=True)
class Problem:
    """Something that keeps a line out of the LODAS import (the CSV keeps it, with an empty
    cell). `subject`: the employee's name, or the wage type's slot ("meal:taxable")."""

    code: ProblemCode
    subject: str
    employee_id: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {"code": str(self.code), "subject": self.subject, "employee_id": self.employee_id}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Problem:
        employee_id = data.get("employee_id")
        return cls(
            ProblemCode(data["code"]),
            str(data["subject"]),
            None if employee_id is None else int(employee_id),
        )

    def message(self) -> str:
        if self.code == ProblemCode.NO_PERSONNEL_NUMBER:
            return _(
                "%(name)s has no personnel number: their lines cannot be imported into payroll."
            ) % {"name": self.subject}
        if self.code == ProblemCode.NOT_A_LODAS_NUMBER:
            return _(
                "The personnel number of %(name)s is not a LODAS personnel number (up to 5 "
                "digits): their lines are left out of the LODAS file."
            ) % {"name": self.subject}
        kind, _sep, treatment = self.subject.partition(":")
        return _("No wage type is set for %(slot)s.") % {"slot": labels.slot(kind, treatment)}


@dataclass(frozen=True)
class Statement:
    """Everything one payroll file says: the company, the payroll month, its lines (the month's
    own and the corrections of closed months), the wage types and the DATEV numbers."""

    company_name: str
    month: Month
    lines: tuple[Line, ...]
    wage_types: Mapping[str, str] = field(default_factory=dict, hash=False)
    consultant_number: str = ""
    client_number: str = ""

    def wage_type(self, line: Line) -> str:
        return str(self.wage_types.get(line.slot, "")).strip()

    def problems(self, *, lodas: bool = False) -> list[Problem]:
        """What keeps lines out of payroll: a missing personnel number or wage type; for the
        LODAS file also a personnel number LODAS cannot hold. One problem per employee or slot."""
        found: dict[tuple[ProblemCode, str, int | None], Problem] = {}
        for line in self.lines:
            number = line.personnel_number.strip()
            if not number:
                problem = Problem(ProblemCode.NO_PERSONNEL_NUMBER, line.name, line.employee_id)
                found.setdefault((problem.code, problem.subject, line.employee_id), problem)
            elif lodas and not _LODAS_PNR.match(number):
                problem = Problem(ProblemCode.NOT_A_LODAS_NUMBER, line.name, line.employee_id)
                found.setdefault((problem.code, problem.subject, line.employee_id), problem)
            if not self.wage_type(line):
                problem = Problem(ProblemCode.NO_WAGE_TYPE, line.slot)
                found.setdefault((problem.code, problem.subject, None), problem)
        return list(found.values())

    def importable(self, line: Line) -> bool:
        """Whether the line can go into the LODAS file."""
        number = line.personnel_number.strip()
        return bool(_LODAS_PNR.match(number) and self.wage_type(line) and line.amount)


def decimal_comma(amount: Decimal) -> str:
    """2 decimals with a decimal comma and no thousands separator: what German Excel and LODAS
    read as a number ("1234,50", "-12,30")."""
    return f"{amount:.2f}".replace(".", ",")


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _text_cell(text: str) -> str:
    """A text from elsewhere (a name from Personio) that Excel would run as a formula
    ("=HYPERLINK(…)") is kept as text by a leading apostrophe (OWASP: CSV injection)."""
    return "'" + text if text.startswith(_FORMULA_START) else text


def csv_bytes(statement: Statement) -> bytes:
    """One row per employee, month, benefit and tax treatment. UTF-8 with BOM (Excel otherwise
    guesses the Windows code page and breaks umlauts), `;`-separated, decimal comma, CRLF."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(
        [
            _("Personnel number"),
            _("Name"),
            _("Payroll month"),
            _("Benefit"),
            _("Wage type"),
            _("Amount (EUR)"),
            _("Tax treatment"),
            _("Notes"),
            _("Corrects month"),
        ]
    )
    for line in statement.lines:
        writer.writerow(
            [
                _text_cell(line.personnel_number),
                _text_cell(line.name),
                str(statement.month),
                labels.kind(line.kind),
                statement.wage_type(line),
                decimal_comma(line.amount),
                labels.treatment(line.treatment),
                ", ".join(labels.flag(flag) for flag in line.flags),
                "" if line.corrects is None else str(line.corrects),
            ]
        )
    return buffer.getvalue().encode("utf-8-sig")


LODAS_RECORD = "10"
LODAS_FIELDS = "abrechnung_zeitraum#bwd;pnr#bwd;la_eigene#bwd;bs_nr#bwd;bs_wert_butab#bwd;"
BS_AMOUNT = "4"  # Bearbeitungsschlüssel: the value is an amount in euro


def _comment(text: str) -> str:
    # A comment is one line; a name cannot break out of it.
    return "* " + " ".join(text.split())


def lodas_bytes(statement: Statement) -> bytes:
    """The DATEV LODAS ASCII import file of the statement (see the module docstring)."""
    period = statement.month.first_day.strftime("%d/%m/%Y")
    out = [
        "[Allgemein]",
        "Ziel=LODAS",
        "Version_SST=1.0",
        f"BeraterNr={statement.consultant_number}",
        f"MandantenNr={statement.client_number}",
        "Datumsformat=TT/MM/JJJJ",
        "Feldtrennzeichen=;",
        "Zahlenkomma=,",
        "Kommentarzeichen=*",
        "",
        _comment(f"benefitsync: {statement.company_name}, {statement.month}"),
    ]
    out += [_comment(problem.message()) for problem in statement.problems(lodas=True)]
    out += [
        "",
        "[Satzbeschreibung]",
        f"{LODAS_RECORD};u_lod_bwd_buchung_standard;{LODAS_FIELDS}",
        "",
        "[Bewegungsdaten]",
    ]
    for line in statement.lines:
        if not statement.importable(line):
            continue
        out.append(
            f"{LODAS_RECORD};{period};{line.personnel_number.strip()};"
            f"{statement.wage_type(line)};{BS_AMOUNT};{decimal_comma(line.amount)};"
        )
    # LODAS reads ANSI (Windows-1252); a character it cannot hold (only possible in a comment)
    # becomes "?" rather than failing the export.
    return ("\r\n".join(out) + "\r\n").encode("cp1252", errors="replace")
