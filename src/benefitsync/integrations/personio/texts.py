"""Every text the sync stores for a person to read, as a code with parameters.

The sync runs without a reader (a worker, at 3 a.m.), so it cannot know the language of whoever
opens the run later. It stores a `Note` — a stable code and its parameters — on the run, its
events, held plans and employees; `render()` turns it into a sentence in the active language when
a page, an e-mail or the command line shows it. A code never changes meaning; a new wording only
changes the catalogue below. Texts stored before codes existed (plain English) are shown as they
are.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext


@dataclass(frozen=True, slots=True)
class Note:
    """A stored text: `code` names a sentence of `CATALOGUE`, `params` fill it in."""

    code: str
    params: Mapping[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {"code": self.code, "params": dict(self.params)}

    def __str__(self) -> str:
        return render(self)


# code → sentence with %(name)s placeholders for the parameters.
CATALOGUE: dict[str, Promise] = {
    # records Personio delivered that the portal cannot take (error)
    "unreadable_record": _("Personio delivered a record that cannot be read (%(detail)s)"),
    "invalid_email": _("invalid e-mail address"),
    "no_name": _("no first or last name"),
    "unknown_status": _("unknown Personio status %(status)s"),
    "implausible_hire_date": _("hire date %(date)s is not plausible"),
    "implausible_leaving_date": _("leaving date %(date)s is not plausible"),
    "hire_after_leaving": _("hire date %(hire)s is after the leaving date %(leaving)s"),
    "text_too_long": _("%(field)s is longer than %(limit)s characters"),
    "delivered_twice": _("delivered twice by Personio"),
    "email_shared": _("e-mail address is used by several Personio employees"),
    "email_taken": _("e-mail address belongs to another portal employee"),
    "new_email_taken": _("new e-mail address belongs to another employee"),
    # expected skips (not errors)
    "left_before_sync": _("left before being synchronized"),
    "not_invited_no_email": _("no e-mail address: not invited"),
    "deleted_in_portal": _(
        "deleted in the portal on %(date)s; not created again (HR can allow it again)"
    ),
    "changed_since_preview": _("changed since the preview"),
    # what an event did
    "created_leaving": _("last working month %(month)s"),
    "linked": _("linked to Personio"),
    "leaving_removed": _("leaving date removed in Personio"),
    "not_delivered": _("not delivered by Personio"),
    "filter_domain": _("e-mail domain not in the company filter"),
    "filter_company": _("Personio company not in the company filter"),
    "filter_opt_in": _("opt-in attribute is not yes/true/ja"),
    "delivered_again": _("delivered by Personio again"),
    "invitation_queued": _("invitation e-mail queued"),
    # why a run is held
    "attributes_vanished": _("attributes no longer delivered by Personio: %(attributes)s"),
    "empty_listing": _("Personio returned no employees while the company has active employees"),
    # how a run ended
    "confirmed_by": _("Confirmed by %(user)s"),
    "discarded_by": _("Discarded by %(user)s"),
    "discarded_superseded": _("Replaced by a newer synchronization of run %(run)s"),
    "worker_stopped": _("The worker stopped before the run finished; nothing was applied."),
    "not_connected": _("Personio is not connected for this company."),
    "secret_unreadable": _(
        "The stored Client Secret cannot be decrypted (the encryption key changed). "
        "Connect Personio again."
    ),
    "personio_error": _("Personio could not be read: %(detail)s"),
    "internal_error": _(
        "The synchronization stopped because of an internal error (%(detail)s); nothing was "
        "applied. It will be tried again."
    ),
    "system": _("the system"),
    # why webhooks are not active
    "webhooks_off": _("Webhooks are switched off for this portal."),
    "webhooks_not_permitted": _(
        "The access data may not register webhooks (Personio scope personio:webhooks:write)."
    ),
    "webhook_failed": _("Personio did not register the webhook: %(detail)s"),
}


def render(note: Note | Mapping[str, Any] | str | None) -> str:
    """The sentence in the active language. Accepts a `Note`, its JSON form, or a legacy
    plain-text message; unknown codes are shown as they are rather than hidden."""
    if note is None or note == "":
        return ""
    if isinstance(note, str):
        return note
    if isinstance(note, Note):
        code, params = note.code, note.params
    else:
        code, params = str(note.get("code", "")), note.get("params") or {}
    if code == "mass_leaving":
        # A plural: "1 of 1 active employee would …" reads wrong without ngettext.
        return ngettext(
            "%(leavers)s of %(active)s active employee would become a leaver or missing",
            "%(leavers)s of %(active)s active employees would become leavers or missing",
            int(params.get("active", 0)),
        ) % {"leavers": params.get("leavers"), "active": params.get("active")}
    template = CATALOGUE.get(code)
    if template is None:
        return code
    values = {k: render(v) if isinstance(v, dict) and "code" in v else v for k, v in params.items()}
    try:
        return str(template) % values if values or "%(" in str(template) else str(template)
    except (KeyError, TypeError, ValueError):
        return str(template)
