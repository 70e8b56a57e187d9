"""Forms of the employee area. They check shapes only; the rules live in the services, so a month
outside the offered choices still reaches the service and gets the rule's reason."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.contrib.auth.password_validation import validate_password
from django.utils.translation import gettext_lazy as _

from benefitsync.benefits.vouchers import VOUCHER_PROVIDERS
from benefitsync.lib.forms import MonthField
from benefitsync.lib.months import parse_entered


class VoucherSelectForm(forms.Form):
    month = MonthField(label=_("Month"))
    provider = forms.ChoiceField(label=_("Voucher"), choices=list(VOUCHER_PROVIDERS.items()))


class ReceiptForm(forms.Form):
    # The page offers one choice of benefit and month together ("benefit id:YYYY-MM"), listing
    # only months the benefit is active in; `benefit` + `month` are the same, sent separately
    # (older pages, scripts).
    target = forms.CharField(required=False, max_length=40)
    benefit = forms.IntegerField(label=_("Benefit"), min_value=1, required=False)
    month = MonthField(label=_("Month"), required=False)
    amount = forms.DecimalField(
        label=_("Amount (EUR)"),
        min_value=Decimal("0.01"),
        max_value=Decimal("99999.99"),
        decimal_places=2,
    )
    file = forms.FileField(label=_("Receipt (PDF, JPEG or PNG)"))

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        target = data.get("target") or ""
        if target:
            benefit, _sep, month = target.partition(":")
            try:
                # The one month validator of every form (`lib.months.parse_entered`).
                data["benefit"] = int(benefit) if benefit.isdigit() and len(benefit) <= 12 else 0
                data["month"] = parse_entered(month)
            except ValueError:
                data["benefit"] = 0
            if not data["benefit"]:
                self.add_error("target", _("Please choose a benefit and month."))
                return data
        elif not data.get("benefit") or not data.get("month"):
            self.add_error("target", _("Please choose a benefit and month."))
        return data


class SignUpForm(forms.Form):
    password1 = forms.CharField(
        label=_("Password"), widget=forms.PasswordInput(attrs={"autocomplete": "new-password"})
    )
    password2 = forms.CharField(
        label=_("Password (again)"),
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def __init__(self, *args: Any, email: str = "", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.email = email

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        p1, p2 = data.get("password1"), data.get("password2")
        if p1 and p2 and p1 != p2:
            self.add_error("password2", _("The two passwords differ."))
        elif p1:
            from benefitsync.accounts.models import User

            try:
                validate_password(p1, user=User(email=self.email))
            except forms.ValidationError as error:
                self.add_error("password1", error)
        return data
