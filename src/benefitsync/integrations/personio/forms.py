"""Forms of the Personio integration page."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _


class ConnectForm(forms.Form):
    """Client ID and Client Secret as generated in Personio (Marketplace → Connect)."""

    client_id = forms.CharField(
        label=_("Client ID"),
        max_length=200,
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    # The secret is never rendered back, not even after a failed attempt.
    client_secret = forms.CharField(
        label=_("Client Secret"),
        max_length=500,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
    )


class AutoInviteForm(forms.Form):
    enabled = forms.BooleanField(
        label=_("Invite employees newly created by a sync automatically"), required=False
    )
