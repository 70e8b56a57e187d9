"""Forms of the support back office."""

from __future__ import annotations

import re

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

# A pragmatic domain check: labels of letters, digits and hyphens, at least one dot.
DOMAIN_RE = re.compile(r"^(?=.{3,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
HEALTH_CHOICES = [
    ("", gettext_lazy("All companies")),
    ("broken", gettext_lazy("Failing, held or needing reconnection")),
    ("connected", gettext_lazy("Connected")),
    ("disconnected", gettext_lazy("Not connected")),
]


def split_lines(value: str, *, commas: bool) -> list[str]:
    pattern = r"[\n,;]" if commas else r"\n"
    return [part.strip() for part in re.split(pattern, value) if part.strip()]


class HealthFilterForm(forms.Form):
    health = forms.ChoiceField(label=gettext_lazy("Show"), choices=HEALTH_CHOICES, required=False)


class CompanyFilterForm(forms.Form):
    """The company filter (SPEC §5): every criterion set must match; all empty clears it."""

    email_domains = forms.CharField(
        label=gettext_lazy("E-mail domains"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=gettext_lazy("One per line or comma-separated, e.g. nordlicht.de"),
    )
    company_names = forms.CharField(
        label=gettext_lazy("Company names in Personio"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=gettext_lazy("One per line, exactly as in Personio (compared after trimming)."),
    )
    opt_in = forms.BooleanField(
        label=gettext_lazy("Only employees whose “Probonio Filter” attribute is yes / true / ja"),
        required=False,
    )

    def clean_email_domains(self) -> list[str]:
        domains = [
            d.lower().lstrip("@")
            for d in split_lines(self.cleaned_data["email_domains"], commas=True)
        ]
        bad = [d for d in domains if not DOMAIN_RE.match(d)]
        if bad:
            raise forms.ValidationError(
                _("Not an e-mail domain: %(domains)s") % {"domains": ", ".join(bad)}
            )
        return sorted(set(domains))

    def clean_company_names(self) -> list[str]:
        return sorted(set(split_lines(self.cleaned_data["company_names"], commas=False)))
