"""The month's figures as tables: input of one employee-month → the payroll lines expected.

Pure: no database. Values of 2026 (meal value 4.57 € + 3.10 € = 7.67 € per meal, 15 meals,
Freigrenze 50 €, internet 50 € flat-taxed). Each expected amount is worked out in its comment.
"""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from benefitsync.lib.months import Month
from benefitsync.payroll.figures import (
    INTERNET,
    MEAL,
    MOBILITY,
    VOUCHER,
    ApprovedReceipt,
    EmployeeMonth,
    Flag,
    Line,
    Treatment,
    corrections,
    employee_lines,
    month_lines,
)
from benefitsync.payroll.statutory import NoStatutoryValues, values_for

JAN = Month(2026, 1)
Y2026 = values_for(JAN)
FREE, FLAT, TAXED = Treatment.TAX_FREE, Treatment.FLAT_25, Treatment.TAXABLE


def emp(**fields: object) -> EmployeeMonth:
    values: dict[str, object] = {"employee_id": 1, "personnel_number": "1001", "name": "A B"}
    values.update(fields)
    return EmployeeMonth(**values)  # type: ignore[arg-type]


def meals(*amounts: str) -> tuple[ApprovedReceipt, ...]:
    return tuple(ApprovedReceipt(MEAL, D(a)) for a in amounts)


def summary(lines: list[Line]) -> list[tuple[str, str, str, set[str]]]:
    return [(ln.kind, ln.treatment, str(ln.amount), {str(f) for f in ln.flags}) for ln in lines]


def test_the_2026_values_are_the_statutory_ones() -> None:
    assert Y2026.meal_value.amount == D("4.57")
    assert Y2026.meal_limit == D("7.67")  # 4.57 + 3.10
    assert Y2026.non_cash_limit.amount == D("50.00")
    assert "§ 8 Abs. 2 Satz 11 EStG" in Y2026.non_cash_limit.source
    assert "R 8.1 Abs. 7 Nr. 4" in Y2026.meal_top_up.source
    assert "§ 40 Abs. 2 Satz 1 Nr. 5 EStG" in Y2026.internet_flat_rate.source
    assert all(value.source for _name, value in Y2026.rows())


def test_a_year_without_values_is_refused_not_guessed() -> None:
    with pytest.raises(NoStatutoryValues):
        values_for(Month(2031, 1))


CASES = [
    pytest.param(emp(voucher=D("44.00")), [(VOUCHER, FREE, "44.00", set())], id="voucher-under"),
    # Exactly 50.00 is still within the Freigrenze.
    pytest.param(emp(voucher=D("50.00")), [(VOUCHER, FREE, "50.00", set())], id="voucher-at-50"),
    # One cent over: all 50.01 taxable, not just the cent (a Freigrenze, not an allowance).
    pytest.param(
        emp(voucher=D("50.01")),
        [(VOUCHER, TAXED, "50.01", {"freigrenze_exceeded"})],
        id="voucher-one-cent-over",
    ),
    # Three meals of 5.00, 7.67 and 9.00 within a 120 € benefit: 5.00 + 7.67 + 7.67 = 20.34
    # tax-free, 9.00 - 7.67 = 1.33 taxable.
    pytest.param(
        emp(receipts=meals("5.00", "7.67", "9.00"), monthly_amounts={MEAL: D("120")}),
        [
            (MEAL, FREE, "20.34", set()),
            (MEAL, TAXED, "1.33", {"meal_above_daily_value"}),
        ],
        id="meal-above-daily-value",
    ),
    # 17 meals of 7.00 = 119.00 in a 150 € benefit: 15 × 7.00 = 105.00 tax-free, meals 16 and
    # 17 = 14.00 taxable.
    pytest.param(
        emp(receipts=meals(*["7.00"] * 17), monthly_amounts={MEAL: D("150")}),
        [
            (MEAL, FREE, "105.00", set()),
            (MEAL, TAXED, "14.00", {"meals_above_monthly_count"}),
        ],
        id="meal-more-than-15",
    ),
    # Receipts 60 + 60 against a 100 € benefit: 60 + 40 paid; per meal 7.67 + 7.67 = 15.34
    # tax-free, 52.33 + 32.33 = 84.66 taxable; both lines say the benefit capped the receipts.
    pytest.param(
        emp(receipts=meals("60", "60"), monthly_amounts={MEAL: D("100")}),
        [
            (MEAL, FREE, "15.34", {"capped_at_monthly_amount"}),
            (
                MEAL,
                TAXED,
                "84.66",
                {"meal_above_daily_value", "capped_at_monthly_amount"},
            ),
        ],
        id="meal-capped-at-benefit",
    ),
    # Internet receipts 30 + 35 = 65 within a 70 € benefit: 50 flat-taxed, 15 taxable.
    pytest.param(
        emp(
            receipts=(ApprovedReceipt(INTERNET, D("30")), ApprovedReceipt(INTERNET, D("35"))),
            monthly_amounts={INTERNET: D("70")},
        ),
        [
            (INTERNET, FLAT, "50.00", set()),
            (INTERNET, TAXED, "15.00", {"internet_above_limit"}),
        ],
        id="internet-above-50",
    ),
    # Internet receipt 80 against a 50 € benefit: only 50 paid, all flat-taxed.
    pytest.param(
        emp(receipts=(ApprovedReceipt(INTERNET, D("80")),), monthly_amounts={INTERNET: D("50")}),
        [(INTERNET, FLAT, "50.00", {"capped_at_monthly_amount"})],
        id="internet-capped",
    ),
    pytest.param(
        emp(receipts=(ApprovedReceipt(MOBILITY, D("58")),), monthly_amounts={MOBILITY: D("58")}),
        [(MOBILITY, FREE, "58.00", {"job_ticket_certificate"})],
        id="job-ticket",
    ),
    # A receipt whose benefit is not active this month has no monthly amount: nothing is paid.
    pytest.param(
        emp(receipts=(ApprovedReceipt(MOBILITY, D("58")),)), [], id="receipt-without-benefit"
    ),
    # The last working month is December 2025: nothing in January.
    pytest.param(
        emp(voucher=D("40"), last_month=Month(2025, 12)), [], id="leaver-after-last-month"
    ),
    pytest.param(
        emp(voucher=D("40"), last_month=JAN), [(VOUCHER, FREE, "40.00", set())], id="leaver-in-lwm"
    ),
]


@pytest.mark.parametrize(("employee", "expected"), CASES)
def test_employee_month_gives_the_expected_lines(
    employee: EmployeeMonth, expected: list[tuple[str, str, str, set[str]]]
) -> None:
    assert summary(employee_lines(employee, JAN, Y2026)) == expected


def test_the_meal_limit_follows_the_year_of_the_payroll_month() -> None:
    # 2025: 4.40 + 3.10 = 7.50 per meal, so a 7.67 meal leaves 0.17 taxable.
    employee = emp(receipts=meals("7.67"), monthly_amounts={MEAL: D("100")})
    december = Month(2025, 12)
    assert summary(employee_lines(employee, december, values_for(december))) == [
        (MEAL, FREE, "7.50", set()),
        (MEAL, TAXED, "0.17", {"meal_above_daily_value"}),
    ]


def test_month_lines_are_ordered_by_personnel_number_with_missing_ones_last() -> None:
    lines = month_lines(
        [
            emp(employee_id=3, personnel_number="", name="Zoe", voucher=D("10")),
            emp(employee_id=2, personnel_number="2000", voucher=D("10")),
            emp(employee_id=1, personnel_number="1000", voucher=D("10")),
        ],
        JAN,
        Y2026,
    )
    assert [line.employee_id for line in lines] == [1, 2, 3]


def test_lines_survive_the_json_round_trip() -> None:
    line = Line(1, "1001", "A B", MEAL, TAXED, D("1.33"), (Flag.CORRECTION,), Month(2025, 12))
    assert Line.from_json(line.to_json()) == line


def _line(employee_id: int, kind: str, treatment: Treatment, amount: str) -> Line:
    return Line(employee_id, f"{employee_id}", "N", kind, treatment, D(amount))


def test_a_receipt_approved_late_becomes_a_positive_correction() -> None:
    booked = [_line(1, INTERNET, FLAT, "30.00")]
    now = [_line(1, INTERNET, FLAT, "50.00"), _line(1, INTERNET, TAXED, "10.00")]
    result = corrections(JAN, now=now, booked=booked, present={1})
    # 50 - 30 = 20 more flat-taxed; 10 taxable that were not booked at all.
    assert summary(result) == [
        (INTERNET, FLAT, "20.00", {"correction"}),
        (INTERNET, TAXED, "10.00", {"correction"}),
    ]
    assert all(line.corrects == JAN for line in result)


def test_a_leaving_entered_late_reverses_the_booked_month() -> None:
    booked = [_line(1, VOUCHER, FREE, "44.00")]
    result = corrections(JAN, now=[], booked=booked, present={1})
    assert summary(result) == [(VOUCHER, FREE, "-44.00", {"correction"})]


def test_corrections_already_booked_are_not_booked_twice() -> None:
    booked = [_line(1, VOUCHER, FREE, "44.00"), _line(1, VOUCHER, FREE, "-44.00")]
    assert corrections(JAN, now=[], booked=booked, present={1}) == []


def test_a_deleted_employee_is_not_reversed() -> None:
    booked = [_line(7, VOUCHER, FREE, "44.00")]
    assert corrections(JAN, now=[], booked=booked, present={1}) == []


def test_an_unchanged_month_needs_no_correction() -> None:
    lines = [_line(1, VOUCHER, FREE, "44.00"), _line(2, MEAL, FREE, "7.67")]
    assert corrections(JAN, now=lines, booked=lines, present={1, 2}) == []
