"""The writers on their own (pure): what a name from elsewhere can and cannot do to the files."""

from __future__ import annotations

from decimal import Decimal

from benefitsync.lib.months import Month
from benefitsync.payroll.figures import VOUCHER, Flag, Line, Treatment
from benefitsync.payroll.writers import Statement, csv_bytes, decimal_comma, lodas_bytes

JAN = Month(2026, 1)


def statement(*lines: Line) -> Statement:
    return Statement(
        company_name="Alpha GmbH",
        month=JAN,
        lines=lines,
        wage_types={"voucher:tax_free": "4100"},
        consultant_number="1234567",
        client_number="12345",
    )


def voucher(name: str, number: str = "1001", amount: str = "44.00") -> Line:
    return Line(1, number, name, VOUCHER, Treatment.TAX_FREE, Decimal(amount))


def test_a_name_that_looks_like_a_formula_stays_text_in_excel() -> None:
    for name in ("=1+2", "@SUM(A1)", "+1", "-1"):
        text = csv_bytes(statement(voucher(name))).decode("utf-8-sig")
        assert f"1001;'{name};2026-01;" in text


def test_a_negative_correction_stays_a_number() -> None:
    line = Line(1, "1001", "Anna Alt", VOUCHER, Treatment.TAX_FREE, Decimal("-44.00"),
                (Flag.CORRECTION,), Month(2025, 12))  # fmt: skip
    row = csv_bytes(statement(line)).decode("utf-8-sig").split("\r\n")[1]
    assert ";-44,00;" in row and row.endswith(";2025-12")
    assert "10;01/01/2026;1001;4100;4;-44,00;" in lodas_bytes(statement(line)).decode("cp1252")


def test_a_name_cannot_break_out_of_a_lodas_comment() -> None:
    content = lodas_bytes(statement(voucher("Eve\r\n10;01/01/2026;99;4100;4;9999,00;", number="")))
    lines = content.decode("cp1252").split("\r\n")
    assert not any(line.startswith("10;01/01/2026;99;") for line in lines)


def test_a_personnel_number_lodas_cannot_hold_is_left_out_and_said() -> None:
    text = lodas_bytes(statement(voucher("Anna Alt", number="NL-1001"))).decode("cp1252")
    assert "NL-1001" not in text.split("[Bewegungsdaten]")[1]
    assert "* The personnel number of Anna Alt is not a LODAS personnel number" in text


def test_amounts_have_a_decimal_comma_and_no_thousands_separator() -> None:
    assert decimal_comma(Decimal("1234.5")) == "1234,50"
    assert decimal_comma(Decimal("0.01")) == "0,01"
