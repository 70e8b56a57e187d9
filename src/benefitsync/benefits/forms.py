"""Forms of the benefit pages. Months are `<input type=month>` (YYYY-MM) cleaned to `Month`."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from benefitsync.benefits.models import BenefitType
from benefitsync.lib.forms import MonthField
from benefitsync.payroll.labels import VOUCHER_AMOUNT_HELP


def _amount_field() -> forms.DecimalField:
    return forms.DecimalField(
        label=_("Monthly amount (EUR)"),
        max_digits=8,
        decimal_places=2,
        min_value=Decimal("0.01"),
        widget=forms.NumberInput(attrs={"step": "0.01", "inputmode": "decimal"}),
        help_text=VOUCHER_AMOUNT_HELP,
    )


class _MonthsMixin(forms.Form):
    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        start, end = cleaned.get("start_month"), cleaned.get("end_month")
        if start is not None and end is not None and end < start:
            self.add_error("end_month", _("The end month cannot lie before the start month."))
        return cleaned


class BenefitForm(_MonthsMixin):
    kind = forms.ChoiceField(label=_("Benefit"), choices=BenefitType.choices)
    monthly_amount = _amount_field()
    start_month = MonthField(label=_("Start month"))
    end_month = MonthField(
        label=_("End month"), required=False, help_text=_("Leave empty for no end.")
    )


class BenefitChangeForm(_MonthsMixin):
    monthly_amount = _amount_field()
    start_month = MonthField(label=_("Start month"))
    end_month = MonthField(
        label=_("End month"), required=False, help_text=_("Leave empty for no end.")
    )


class BenefitEndForm(forms.Form):
    end_month = MonthField(
        label=_("Last month of the benefit"),
        help_text=_("The benefit ends at the end of this month."),
    )
