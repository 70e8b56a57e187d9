"""Forms of the payroll pages."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.validators import RegexValidator
from django.utils.translation import gettext_lazy as _

from benefitsync.lib.forms import MonthField
from benefitsync.payroll import figures, labels
from benefitsync.payroll.models import (
    ExportFormat,
    PayrollSettings,
    client_number_validator,
    consultant_number_validator,
)

# LODAS's own wage types (la_eigene) are numbers of 1 to 4 digits.
_WAGE_TYPE = RegexValidator(r"^\d{1,4}$", _("A wage type is a number of 1 to 4 digits."))


def wage_type_field_name(kind: str, treatment: str) -> str:
    return f"wage_type_{kind}_{treatment}"


class PayrollSettingsForm(forms.Form):
    consultant_number = forms.CharField(
        label=_("DATEV consultant number (Beraternummer)"),
        max_length=7,
        required=False,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )
    client_number = forms.CharField(
        label=_("DATEV client number (Mandantennummer)"),
        max_length=5,
        required=False,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )
    cutoff_day = forms.IntegerField(
        label=_("Payroll cut-off day"),
        min_value=1,
        max_value=28,
        help_text=_("A month can be closed from this day of the month on."),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for kind, treatment in figures.SLOTS:
            self.fields[wage_type_field_name(kind, treatment)] = forms.CharField(
                label=labels.slot(kind, treatment),
                max_length=4,
                required=False,
                validators=[_WAGE_TYPE],
                widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
            )
        self.fields["consultant_number"].validators.append(consultant_number_validator)
        self.fields["client_number"].validators.append(client_number_validator)

    @classmethod
    def initial_from(cls, settings: PayrollSettings) -> dict[str, Any]:
        initial: dict[str, Any] = {
            "consultant_number": settings.consultant_number,
            "client_number": settings.client_number,
            "cutoff_day": settings.cutoff_day,
        }
        wage_types = settings.wage_types or {}
        for kind, treatment in figures.SLOTS:
            initial[wage_type_field_name(kind, treatment)] = wage_types.get(
                figures.slot_key(kind, treatment), ""
            )
        return initial

    def wage_types(self) -> dict[str, str]:
        return {
            figures.slot_key(kind, treatment): self.cleaned_data[
                wage_type_field_name(kind, treatment)
            ]
            for kind, treatment in figures.SLOTS
        }


class MonthForm(forms.Form):
    month = MonthField(label=_("Payroll month"))


class ExportForm(forms.Form):
    month = MonthField(label=_("Payroll month"))
    format = forms.ChoiceField(label=_("Format"), choices=ExportFormat.choices)
