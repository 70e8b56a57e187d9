"""Sign-up links leave the readable outbox body: sent e-mails lose the link, unsent ones keep it
only encrypted (in `secret`) until they are sent."""

from __future__ import annotations

import re
from typing import Any

from django.db import migrations, models

LINK = re.compile(r"\S*/me/signup/[^/\s]+/")
PLACEHOLDER = "[sign-up link]"


def hide_links(apps: Any, schema_editor: Any) -> None:
    from benefitsync.lib import crypto

    OutboundEmail = apps.get_model("invitations", "OutboundEmail")
    for email in OutboundEmail.objects.filter(body__contains="/me/signup/").iterator():
        found = LINK.search(email.body)
        if found is None:
            continue
        if email.sent_at is None:
            email.secret = crypto.encrypt(found.group(0))
        email.body = LINK.sub(PLACEHOLDER, email.body)
        email.save(update_fields=["body", "secret"])


class Migration(migrations.Migration):
    dependencies = [
        ("invitations", "0002_outbound_email_claim"),
    ]

    operations = [
        migrations.AddField(
            model_name="outboundemail",
            name="secret",
            field=models.TextField(blank=True, default=""),
        ),
        migrations.RunPython(hide_links, migrations.RunPython.noop),
    ]
