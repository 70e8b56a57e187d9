"""The one way to write the audit log."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from benefitsync.audit.models import AuditEvent

if TYPE_CHECKING:
    from benefitsync.accounts.models import User
    from benefitsync.companies.models import Company


def record(
    action: str,
    *,
    company: Company | None,
    actor: User | None,
    target: str = "",
    **details: Any,
) -> AuditEvent:
    """Append an audit event. Never put secrets into `details`."""
    return AuditEvent.objects.create(
        company=company, actor=actor, action=action, target=target[:200], details=details
    )
