"""The payroll files of the test company (tests/payroll/conftest.py: who got what, worked out by
hand) against golden files, the export records, and the command line.

Golden files: tests/payroll/golden/. After a deliberate change of the format, regenerate them
with BENEFITSYNC_UPDATE_GOLDEN=1 and read the diff line by line against the table in conftest.py.
"""

from __future__ import annotations

import hashlib
import io
import os
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.utils import translation

from benefitsync.benefits.models import BenefitType
from benefitsync.payroll import services
from benefitsync.payroll.models import PayrollExport
from tests.payroll.conftest import JAN, Scenario, add_receipt

GOLDEN = Path(__file__).parent / "golden"


def golden(name: str, content: bytes) -> bytes:
    path = GOLDEN / name
    if os.environ.get("BENEFITSYNC_UPDATE_GOLDEN") == "1":
        path.write_bytes(content)
    return path.read_bytes()


@pytest.fixture(autouse=True)
def _english_afterwards() -> object:
    yield
    translation.activate("en")


@pytest.mark.parametrize(
    ("fmt", "language", "name"),
    [
        ("csv", "en", "alpha-2026-01.en.csv"),
        ("csv", "de", "alpha-2026-01.de.csv"),
        ("datev-lodas", "de", "alpha-2026-01.lodas.txt"),
    ],
)
def test_the_test_company_gives_the_golden_files(
    scenario: Scenario, fmt: str, language: str, name: str
) -> None:
    translation.activate(language)
    export = services.do_export(scenario.company, JAN, fmt, acting_user=None)
    content = bytes(export.content)
    assert content == golden(name, content)


def test_the_csv_opens_in_german_excel(scenario: Scenario) -> None:
    content = bytes(services.do_export(scenario.company, JAN, "csv", acting_user=None).content)
    assert content.startswith(b"\xef\xbb\xbf")  # UTF-8 BOM: Excel reads UTF-8, not ANSI
    rows = content.decode("utf-8-sig").split("\r\n")
    header, first = rows[0].split(";"), rows[1].split(";")
    assert len(header) == 9 and first[:6] == [
        "1001",
        "Anna Alt",
        "2026-01",
        "Monthly voucher (non-cash benefit)",
        "4100",
        "44,00",
    ]
    # 1003's taxable meal part: (9.00 - 7.67) + (12.50 - 7.67) = 6.16, with a decimal comma.
    assert "1003;Clara Cord;2026-01;Meal allowance;4201;6,16;taxable;" in rows[4]


def test_the_lodas_file_has_the_sections_datev_reads(scenario: Scenario) -> None:
    content = bytes(
        services.do_export(scenario.company, JAN, "datev-lodas", acting_user=None).content
    )
    text = content.decode("cp1252")
    assert "\r\n" in text and "\n" not in text.replace("\r\n", "")
    lines = text.split("\r\n")
    assert lines[:5] == [
        "[Allgemein]",
        "Ziel=LODAS",
        "Version_SST=1.0",
        "BeraterNr=1234567",
        "MandantenNr=12345",
    ]
    assert lines.index("[Satzbeschreibung]") < lines.index("[Bewegungsdaten]")
    movements = lines[lines.index("[Bewegungsdaten]") + 1 : -1]
    # 1001 44.00, 1002 60.00, 1003 28.01 + 6.16, 1004 50.00 + 15.00, 1005 58.00: 7 lines;
    # Gustav (no personnel number) and Frida (left) are not among them.
    assert movements == [
        "10;01/01/2026;1001;4100;4;44,00;",
        "10;01/01/2026;1002;4101;4;60,00;",
        "10;01/01/2026;1003;4200;4;28,01;",
        "10;01/01/2026;1003;4201;4;6,16;",
        "10;01/01/2026;1004;4300;4;50,00;",
        "10;01/01/2026;1004;4301;4;15,00;",
        "10;01/01/2026;1005;4400;4;58,00;",
    ]
    assert any(line.startswith("* ") and "Gustav Gans" in line for line in lines)


def test_an_employee_without_personnel_number_is_an_error_not_dropped(
    scenario: Scenario,
) -> None:
    view = services.month_view(scenario.company, JAN)
    problems = services.statement(scenario.company, view).problems()
    assert [p.subject for p in problems] == ["Gustav Gans"]
    export = services.do_export(scenario.company, JAN, "csv", acting_user=None)
    assert [p["subject"] for p in export.problems] == ["Gustav Gans"]
    assert ";Gustav Gans;2026-01;" in bytes(export.content).decode("utf-8-sig")


def test_every_export_is_recorded_and_downloads_again_unchanged(scenario: Scenario) -> None:
    first = services.do_export(scenario.company, JAN, "csv", acting_user=None)
    assert first.checksum == hashlib.sha256(bytes(first.content)).hexdigest()
    assert (first.month, first.format, first.created_by) == (JAN.first_day, "csv", None)
    # A receipt approved afterwards changes the next file, never the recorded one.
    add_receipt(scenario.people["emil"], BenefitType.MOBILITY, "1.00")
    second = services.do_export(scenario.company, JAN, "csv", acting_user=None)
    assert second.checksum != first.checksum
    stored = PayrollExport.objects.get(pk=first.pk)
    assert hashlib.sha256(bytes(stored.content)).hexdigest() == first.checksum


def test_lodas_without_datev_numbers_is_refused(scenario: Scenario) -> None:
    services.do_update_settings(
        scenario.company,
        consultant_number="",
        client_number="",
        cutoff_day=20,
        wage_types={},
        acting_user=None,
    )
    with pytest.raises(services.PayrollRefused, match="consultant and client number"):
        services.do_export(scenario.company, JAN, "datev-lodas", acting_user=None)
    assert not PayrollExport.objects.exists()


# --- the command line --------------------------------------------------------------------------


def test_the_command_writes_the_file_to_output(scenario: Scenario, tmp_path: Path) -> None:
    target = tmp_path / "lodas.txt"
    translation.activate("de")
    with pytest.raises(CommandError, match="1 problem"):  # Gustav has no personnel number
        call_command(
            "payroll",
            "export",
            "alpha",
            "--month",
            "2026-01",
            "--format",
            "datev-lodas",
            "--output",
            str(target),
            stderr=io.StringIO(),
        )
    assert target.read_bytes() == (GOLDEN / "alpha-2026-01.lodas.txt").read_bytes()
    assert PayrollExport.objects.get().checksum == hashlib.sha256(target.read_bytes()).hexdigest()


def test_the_command_writes_bytes_to_stdout(scenario: Scenario) -> None:
    scenario.people["gustav"].delete()  # no problems: the command succeeds
    binary = io.BytesIO()
    stdout = io.TextIOWrapper(binary, encoding="utf-8")
    call_command(
        "payroll", "export", "alpha", "--month", "2026-01", "--format", "csv", stdout=stdout
    )
    stdout.flush()
    assert binary.getvalue() == bytes(PayrollExport.objects.get().content)
    assert binary.getvalue().startswith(b"\xef\xbb\xbfPersonnel number;")


def test_the_command_refuses_a_bad_month_and_an_unknown_company(scenario: Scenario) -> None:
    with pytest.raises(CommandError, match="YYYY-MM"):
        call_command("payroll", "export", "alpha", "--month", "January", "--format", "csv")
    with pytest.raises(CommandError, match="No company"):
        call_command("payroll", "export", "nope", "--month", "2026-01", "--format", "csv")
