"""What people read for the codes of `figures`: benefit kinds, treatments, flags, problems."""

from __future__ import annotations

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from benefitsync.payroll.figures import INTERNET, MEAL, MOBILITY, VOUCHER, Flag, Treatment

KIND: dict[str, Promise] = {
    VOUCHER: _("Monthly voucher (non-cash benefit)"),
    MEAL: _("Meal allowance"),
    INTERNET: _("Internet allowance"),
    MOBILITY: _("Mobility"),
}

TREATMENT: dict[str, Promise] = {
    Treatment.TAX_FREE: _("tax-free"),
    Treatment.FLAT_25: _("flat-rate tax 25 %"),
    Treatment.TAXABLE: _("taxable"),
}

FLAG: dict[str, Promise] = {
    Flag.FREIGRENZE_EXCEEDED: _("over the 50 € Freigrenze: all of it taxable"),
    Flag.MEAL_ABOVE_DAILY_VALUE: _("meal above the tax-free value per meal"),
    Flag.MEALS_ABOVE_MONTHLY_COUNT: _("more than 15 meals"),
    Flag.INTERNET_ABOVE_LIMIT: _("internet above 50 €"),
    Flag.CAPPED_AT_MONTHLY_AMOUNT: _("receipts above the monthly amount"),
    Flag.JOB_TICKET_CERTIFICATE: _("job ticket: certify on the wage tax statement"),
    Flag.CORRECTION: _("correction"),
}


# Shown under the amount of the benefit form (benefits.forms): the Freigrenze in one sentence.
VOUCHER_AMOUNT_HELP = _(
    "Vouchers: up to 50 € a month stay tax-free; one cent more and all of it is taxable."
)


def kind(code: str) -> str:
    return str(KIND.get(code, code))


def treatment(code: str) -> str:
    return str(TREATMENT.get(code, code))


def flag(code: str) -> str:
    return str(FLAG.get(code, code))


def slot(kind_code: str, treatment_code: str) -> str:
    """ "Meal allowance — taxable": the label of a wage type setting."""
    return f"{kind(kind_code)} — {treatment(treatment_code)}"
