"""Forms of the Personio integration page."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from benefitsync.integrations.personio.models import DELTA_INTERVALS


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
    # Chosen before the first sync runs (the seed's order: connect, choose invitations, sync),
    # so the first sync already invites — or does not.
    auto_invite = forms.BooleanField(
        label=_("Invite employees newly created by a sync automatically"),
        help_text=_(
            "Each new active employee with an e-mail address gets one sign-up e-mail, starting "
            "with the first synchronization."
        ),
        required=False,
    )


class AllowAgainForm(forms.Form):
    """Lift the erasure block of one person (GDPR deletion) by their Personio ID."""

    personio_id = forms.IntegerField(label=_("Personio ID"), min_value=1)


class AutoInviteForm(forms.Form):
    enabled = forms.BooleanField(
        label=_("Invite employees newly created by a sync automatically"), required=False
    )


def _interval_choices() -> list[tuple[int, str]]:
    """Called when the field is rendered, so the labels are in the reader's language."""
    choices = []
    for minutes in DELTA_INTERVALS:
        if minutes % 60 == 0:
            n = minutes // 60
            label = ngettext("every hour", "every %(n)s hours", n) % {"n": n}
        else:
            label = ngettext("every minute", "every %(n)s minutes", minutes) % {"n": minutes}
        choices.append((minutes, label))
    return choices


class DeltaIntervalForm(forms.Form):
    """How often a company without webhooks asks Personio for changes."""

    minutes = forms.TypedChoiceField(
        label=_("Ask Personio for changes"), coerce=int, choices=_interval_choices
    )
