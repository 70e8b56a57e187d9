"""Closing a payroll month freezes its figures; later changes become corrections of the next open
month (issue 16). The test company and its January figures: tests/payroll/conftest.py."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from benefitsync.audit.models import AuditEvent
from benefitsync.benefits.models import Receipt, ReceiptStatus, VoucherSelection
from benefitsync.benefits.receipts import do_decide_receipt
from benefitsync.employees.models import Employee
from benefitsync.employees.services import do_delete_employee, do_mark_leaving, do_terminate_now
from benefitsync.lib.months import Month
from benefitsync.payroll import services
from benefitsync.payroll.figures import Line
from benefitsync.payroll.models import ClosedMonth
from tests.payroll.conftest import JAN, Scenario, add_voucher
from tests.payroll.test_export import GOLDEN

FEB, MAR, DEC_2025 = Month(2026, 2), Month(2026, 3), Month(2025, 12)
CUTOFF_JAN = dt.date(2026, 1, 20)  # the test company's cut-off day is the 20th


def close(scenario: Scenario, month: Month, today: dt.date) -> ClosedMonth:
    return services.do_close_month(scenario.company, month, today=today, acting_user=None)


def rows(lines: list[Line]) -> list[tuple[str, str, str, str, str | None]]:
    return [
        (line.personnel_number, line.kind, line.treatment, str(line.amount),
         None if line.corrects is None else str(line.corrects))
        for line in lines
    ]  # fmt: skip


def test_a_closed_month_exports_its_frozen_figures_whatever_happens_later(
    scenario: Scenario,
) -> None:
    close(scenario, JAN, CUTOFF_JAN)
    undecided = Receipt.objects.get(status=ReceiptStatus.SUBMITTED)
    do_decide_receipt(undecided, approve=True, acting_user=None)
    content = bytes(services.do_export(scenario.company, JAN, "csv", acting_user=None).content)
    assert content == (GOLDEN / "alpha-2026-01.en.csv").read_bytes()
    assert services.do_export(scenario.company, JAN, "csv", acting_user=None).month_closed


def test_a_receipt_approved_late_becomes_a_correction_in_the_next_open_month(
    scenario: Scenario,
) -> None:
    close(scenario, JAN, CUTOFF_JAN)
    # Dana's undecided 10.00 internet receipt of January, approved after the close: 40 + 25
    # were granted, so the approval grants the 5.00 left of the 70 € benefit → 50 flat-taxed +
    # 20 taxable, of which 15 were booked: +5.00 taxable, in February as a correction of January.
    undecided = Receipt.objects.get(status=ReceiptStatus.SUBMITTED)
    do_decide_receipt(undecided, approve=True, acting_user=None)
    view = services.month_view(scenario.company, FEB)
    assert view.takes_corrections
    assert rows(view.lines) == [("1004", "internet", "taxable", "5.00", "2026-01")]
    csv = bytes(services.do_export(scenario.company, FEB, "csv", acting_user=None).content)
    assert (
        "1004;Dana Dorn;2026-02;Internet allowance;4301;5,00;taxable;"
        "internet above 50 €, correction;2026-01"
    ) in csv.decode("utf-8-sig")
    lodas = services.do_export(scenario.company, FEB, "datev-lodas", acting_user=None)
    assert b"10;01/02/2026;1004;4301;4;5,00;" in bytes(lodas.content)


def test_a_correction_is_booked_once_by_the_month_that_closed_with_it(scenario: Scenario) -> None:
    close(scenario, JAN, CUTOFF_JAN)
    do_decide_receipt(
        Receipt.objects.get(status=ReceiptStatus.SUBMITTED), approve=True, acting_user=None
    )
    february = close(scenario, FEB, dt.date(2026, 2, 20))
    assert [Line.from_json(data).corrects for data in february.lines] == [JAN]
    assert services.month_view(scenario.company, MAR).lines == []


def test_an_immediate_termination_after_the_close_reverses_the_month_in_the_next(
    scenario: Scenario,
) -> None:
    close(scenario, JAN, CUTOFF_JAN)
    # Emil is terminated at once on 25 January: his benefits end with December, so January's
    # job ticket (58.00, booked) is taken back in February: -58.00.
    do_terminate_now(scenario.people["emil"], today=dt.date(2026, 1, 25), acting_user=None)
    assert rows(services.month_view(scenario.company, FEB).lines) == [
        ("1005", "mobility", "tax_free", "-58.00", "2026-01")
    ]


def test_a_leaving_date_entered_late_stops_the_benefits_after_the_last_working_month(
    scenario: Scenario,
) -> None:
    anna = scenario.people["anna"]
    add_voucher(anna, FEB, "44.00")
    close(scenario, JAN, CUTOFF_JAN)
    assert ("1001", "voucher", "tax_free", "44.00", None) in rows(
        services.month_view(scenario.company, FEB).lines
    )
    # Entered on 25 January with a leaving date in December: never retroactive, so the last
    # working month is January; January stays as booked, February pays her nothing.
    do_mark_leaving(anna, dt.date(2025, 12, 31), today=dt.date(2026, 1, 25), acting_user=None)
    assert rows(services.month_view(scenario.company, FEB).lines) == []


def test_an_employee_deleted_after_the_close_is_not_reversed(scenario: Scenario) -> None:
    close(scenario, JAN, CUTOFF_JAN)
    do_delete_employee(scenario.people["bernd"], acting_user=None)
    assert services.month_view(scenario.company, FEB).lines == []
    frozen = services.month_view(scenario.company, JAN).lines
    assert ("1002", "voucher", "taxable", "60.00", None) in rows(frozen)


@pytest.mark.parametrize(
    ("closed", "month", "today", "reason"),
    [
        ([], JAN, dt.date(2026, 1, 19), "from its cut-off day, 2026-01-20"),
        ([JAN], MAR, dt.date(2026, 3, 25), "the next month to close is 2026-02"),
        ([JAN], JAN, dt.date(2026, 3, 25), "already closed"),
    ],
)
def test_months_close_in_order_and_not_before_the_cut_off_day(
    scenario: Scenario, closed: list[Month], month: Month, today: dt.date, reason: str
) -> None:
    for earlier in closed:
        close(scenario, earlier, dt.date(2026, 3, 25))
    with pytest.raises(services.PayrollRefused, match=reason):
        close(scenario, month, today)
    assert ClosedMonth.objects.count() == len(closed)


def test_closing_is_audited_and_keeps_every_line(scenario: Scenario) -> None:
    record = close(scenario, JAN, CUTOFF_JAN)
    assert len(record.lines) == 8  # 7 importable + Gustav's, who has no personnel number
    event = AuditEvent.objects.get(action="payroll.close")
    assert event.target == "payroll:2026-01" and event.details["lines"] == 8


def test_settings_changes_are_audited_value_by_value(scenario: Scenario) -> None:
    services.do_update_settings(
        scenario.company,
        consultant_number="7654321",
        client_number="12345",
        cutoff_day=15,
        wage_types={"meal:taxable": "4299", "nonsense:slot": "1"},
        acting_user=None,
    )
    settings = services.settings_for(scenario.company)
    assert settings.wage_types == {"meal:taxable": "4299"}  # unknown slots are not stored
    event = AuditEvent.objects.filter(action="payroll.settings").latest("id")
    changes = event.details["changes"]
    assert changes["consultant_number"] == ["1234567", "7654321"]
    assert changes["cutoff_day"] == [20, 15]
    assert "client_number" not in changes


def test_voucher_over_the_freigrenze_is_warned_about_not_refused(scenario: Scenario) -> None:
    bernd, anna = scenario.people["bernd"], scenario.people["anna"]
    warning = services.voucher_limit_warning(bernd, JAN)
    assert "60.00 €" in warning and "§ 8 Abs. 2 Satz 11 EStG" in warning
    assert services.voucher_limit_warning(anna, JAN) == ""


def test_receipts_count_only_while_their_benefit_is_active(scenario: Scenario) -> None:
    # Frida's internet receipt of January (approved, 30.00) belongs to a benefit that ended in
    # December: it is not paid, and nothing else of hers is.
    frida = scenario.people["frida"]
    assert Receipt.objects.filter(employee=frida, status=ReceiptStatus.APPROVED).exists()
    lines = services.month_view(scenario.company, JAN).lines
    assert all(line.employee_id != frida.pk for line in lines)
    assert Decimal("30.00") not in {line.amount for line in lines if line.kind == "internet"}


# --- only changed closed months are recomputed -------------------------------------------------


@pytest.fixture
def recomputed(monkeypatch: pytest.MonkeyPatch) -> list[Month]:
    """The months whose figures are worked out again (a spy around the real function)."""
    months: list[Month] = []
    real = services.current_lines

    def spy(company: object, month: Month) -> list[Line]:
        months.append(month)
        return real(company, month)  # type: ignore[arg-type]

    monkeypatch.setattr(services, "current_lines", spy)
    return months


def test_unchanged_closed_months_are_not_recomputed(
    scenario: Scenario, recomputed: list[Month]
) -> None:
    close(scenario, JAN, CUTOFF_JAN)
    close(scenario, FEB, dt.date(2026, 2, 20))
    recomputed.clear()
    assert services.month_view(scenario.company, MAR).lines == []
    assert recomputed == [MAR]  # January and February: fingerprints unchanged


def test_a_booked_correction_makes_its_month_quiet_again(
    scenario: Scenario, recomputed: list[Month]
) -> None:
    close(scenario, JAN, CUTOFF_JAN)
    do_decide_receipt(
        Receipt.objects.get(status=ReceiptStatus.SUBMITTED), approve=True, acting_user=None
    )
    close(scenario, FEB, dt.date(2026, 2, 20))  # books January's +5.00
    recomputed.clear()
    services.month_view(scenario.company, MAR)
    assert recomputed == [MAR]


def test_changes_that_cancel_out_in_the_sum_are_still_found(scenario: Scenario) -> None:
    close(scenario, JAN, CUTOFF_JAN)
    anna, bernd = scenario.people["anna"], scenario.people["bernd"]
    # The two vouchers swap amounts: the month's total (104.00) and count stay the same.
    VoucherSelection.objects.filter(employee=anna, month=JAN.first_day).update(amount=60)
    VoucherSelection.objects.filter(employee=bernd, month=JAN.first_day).update(amount=44)
    assert sorted(rows(services.month_view(scenario.company, FEB).lines)) == [
        ("1001", "voucher", "tax_free", "-44.00", "2026-01"),
        ("1001", "voucher", "taxable", "60.00", "2026-01"),
        ("1002", "voucher", "tax_free", "44.00", "2026-01"),
        ("1002", "voucher", "taxable", "-60.00", "2026-01"),
    ]


def test_a_last_working_month_moved_before_a_closed_month_reverses_it(scenario: Scenario) -> None:
    close(scenario, JAN, CUTOFF_JAN)
    # Only the employee row changes (no benefit end written): the fingerprint still sees it.
    Employee.objects.filter(pk=scenario.people["anna"].pk).update(
        last_working_month=dt.date(2025, 12, 1)
    )
    assert rows(services.month_view(scenario.company, FEB).lines) == [
        ("1001", "voucher", "tax_free", "-44.00", "2026-01")
    ]


def test_a_months_fingerprint_is_the_same_alone_and_among_others(scenario: Scenario) -> None:
    together = services.inputs_fingerprints(scenario.company, [DEC_2025, JAN, FEB])
    assert together[JAN] == services.inputs_fingerprint(scenario.company, JAN)
    assert together[FEB] == services.inputs_fingerprint(scenario.company, FEB)
    assert together[JAN] != together[FEB]
