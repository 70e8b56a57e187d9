"""Back office: invitations and the e-mail outbox, read-only (both change through services)."""

from __future__ import annotations

from django.contrib import admin

from benefitsync.audit.admin import ReadOnlyModelAdmin
from benefitsync.invitations.models import Invitation, OutboundEmail


@admin.register(Invitation)
class InvitationAdmin(ReadOnlyModelAdmin):
    list_display = ("id", "employee", "company", "created_at", "expires_at", "used_at")
    list_select_related = ("employee", "company")
    list_filter = ("company",)
    search_fields = ("employee__email", "employee__last_name")
    exclude = ("token_hash",)  # not a secret by itself, but nobody needs to read it


@admin.register(OutboundEmail)
class OutboundEmailAdmin(ReadOnlyModelAdmin):
    list_display = ("created_at", "to", "subject", "sent_at", "attempts")
    list_filter = ("company",)
    search_fields = ("to", "subject", "key")
    show_full_result_count = False
    exclude = ("secret",)  # the encrypted sign-up link: useless to read, and nobody should
