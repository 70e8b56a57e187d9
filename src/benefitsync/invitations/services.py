"""Invitations: create the sign-up link, queue its e-mail, and accept it (sign-up).

Only the SHA-256 of a token is stored; the token itself exists only in the e-mail (in the outbox
only encrypted, and only until it is sent). The automatic
first invitation uses the outbox key `invite:<employee_id>:1`, so a retried sync or a crashed
worker that invites the same employee again stores (and sends) nothing new.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from benefitsync.audit import services as audit
from benefitsync.employees.models import Employee, EmployeeStatus, InvitationState
from benefitsync.invitations.models import LINK_PLACEHOLDER, Invitation, OutboundEmail
from benefitsync.lib import crypto

if TYPE_CHECKING:
    from benefitsync.accounts.models import User
    from benefitsync.companies.models import Company

# The e-mail goes out in both interface languages: the employee has not chosen one yet.
EMAIL_LANGUAGES = ("de", "en")


class InvitationRefused(Exception):
    """The invitation cannot be created or used; the message says why."""


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def ttl() -> dt.timedelta:
    return dt.timedelta(days=int(settings.INVITATION_TTL_DAYS))


def first_invitation_key(employee_id: int) -> str:
    return f"invite:{employee_id}:1"


def signup_url(token: str) -> str:
    base = str(settings.BASE_URL).rstrip("/")
    return base + reverse("employee_area:signup", kwargs={"token": token})


def _render_email(employee: Employee, expires_at: dt.datetime) -> tuple[str, str]:
    """Subject and body; the body has LINK_PLACEHOLDER where the sign-up link goes."""
    context = {
        "first_name": employee.first_name,
        "company": employee.company.name,
        "url": LINK_PLACEHOLDER,
        "expires": timezone.localtime(expires_at).date(),
    }
    parts: list[str] = []
    subjects: list[str] = []
    for language in EMAIL_LANGUAGES:
        with translation.override(language):
            parts.append(render_to_string("invitations/email/invitation.txt", context).strip())
            subjects.append(_("Your benefits at %(company)s") % {"company": context["company"]})
    body = "\n\n-- \n\n".join(parts) + "\n"
    return " / ".join(dict.fromkeys(subjects)), body


def queue_email(*, company: Company | None, key: str, to: str, subject: str, body: str) -> bool:
    """Queue one e-mail in the outbox (caller's transaction), sent after commit exactly once.
    A second call with the same `key` queues nothing and returns False."""
    try:
        with transaction.atomic():  # a savepoint: a duplicate key leaves the caller's work intact
            OutboundEmail.objects.create(
                company=company, key=key, to=to, subject=subject[:300], body=body
            )
    except IntegrityError:
        return False
    transaction.on_commit(_kick_outbox)
    return True


def _kick_outbox() -> None:
    """Send soon rather than at the next minute tick (the periodic task is the safety net)."""
    from benefitsync.invitations.tasks import send_outbox

    send_outbox()


@transaction.atomic
def do_invite(
    employee: Employee,
    *,
    acting_user: User | None,
    resend: bool = False,
    now: dt.datetime | None = None,
) -> Invitation | None:
    """Create a sign-up invitation for `employee` and queue exactly one e-mail for it.

    The automatic first invitation (`resend=False`) is idempotent: when its e-mail is already
    queued, nothing is created and None is returned. A manual resend always creates a new link
    (older unused links stop working) with its own outbox key. Raises InvitationRefused for an
    employee without an e-mail address or one who already signed up.
    """
    now = now or timezone.now()
    employee = Employee.objects.select_for_update().select_related("company").get(pk=employee.pk)
    if not employee.email:
        raise InvitationRefused(_("The employee has no e-mail address."))
    if employee.user_id is not None:
        raise InvitationRefused(_("The employee has already signed up."))
    if not resend and employee.status == EmployeeStatus.LEFT:
        raise InvitationRefused(_("The employee has left."))
    key = first_invitation_key(employee.pk)
    if not resend and OutboundEmail.objects.filter(key=key).exists():
        return None
    token = secrets.token_urlsafe(32)
    expires_at = now + ttl()
    try:
        # A savepoint: when a concurrent worker queued the first invitation in between, the
        # unique key rejects ours and the invitation row goes with it.
        with transaction.atomic():
            if resend:
                Invitation.objects.filter(
                    employee=employee, used_at__isnull=True, expires_at__gt=now
                ).update(expires_at=now)
            invitation = Invitation.objects.create(
                company=employee.company,
                employee=employee,
                token_hash=hash_token(token),
                expires_at=expires_at,
            )
            if resend:
                key = f"invite:{employee.pk}:{invitation.pk}"
            subject, body = _render_email(employee, expires_at)
            OutboundEmail.objects.create(
                company=employee.company,
                key=key,
                to=employee.email,
                subject=subject,
                body=body,
                secret=crypto.encrypt(signup_url(token)),
            )
    except IntegrityError:
        return None
    if employee.invitation_state != InvitationState.INVITED:
        Employee.objects.filter(pk=employee.pk).update(invitation_state=InvitationState.INVITED)
        employee.invitation_state = InvitationState.INVITED
    audit.record(
        "employee.invite",
        company=employee.company,
        actor=acting_user,
        target=f"employee:{employee.pk}",
        invitation=invitation.pk,
        resend=resend,
    )
    transaction.on_commit(_kick_outbox)
    return invitation


@dataclass(frozen=True)
class TokenCheck:
    invitation: Invitation | None
    problem: str  # "" when usable; otherwise "unknown", "used", "expired" or "signed_up"


def check_token(token: str, *, now: dt.datetime | None = None) -> TokenCheck:
    """Is this sign-up link usable? Says which problem it has, for a clear page."""
    now = now or timezone.now()
    invitation = (
        Invitation.objects.select_related("employee", "employee__company")
        .filter(token_hash=hash_token(token))
        .first()
    )
    if invitation is None:
        return TokenCheck(None, "unknown")
    if invitation.used_at is not None:
        return TokenCheck(invitation, "used")
    if invitation.employee.user_id is not None:
        return TokenCheck(invitation, "signed_up")
    if invitation.expires_at <= now:
        return TokenCheck(invitation, "expired")
    return TokenCheck(invitation, "")


@transaction.atomic
def do_accept_invitation(token: str, password: str, *, now: dt.datetime | None = None) -> Employee:
    """Sign-up: create the employee's login with `password` (already validated) and use the link.

    The invitation is claimed with a conditional update, so a double submit creates one user.
    """
    from benefitsync.accounts.models import User

    now = now or timezone.now()
    result = check_token(token, now=now)
    if result.problem or result.invitation is None:
        raise InvitationRefused(result.problem or "unknown")
    invitation = result.invitation
    claimed = Invitation.objects.filter(pk=invitation.pk, used_at__isnull=True).update(used_at=now)
    if claimed != 1:
        raise InvitationRefused("used")
    employee = Employee.objects.select_for_update().get(pk=invitation.employee_id)
    email = employee.email.lower()
    if User.objects.filter(email=email).exists():
        # An HR admin who is also an employee: the existing login is linked, its password kept.
        raise InvitationRefused("account_exists")
    # Names stay on the Employee only: one place to erase them (GDPR).
    user = User.objects.create_user(email=email, password=password)
    employee.user = user
    employee.invitation_state = InvitationState.SIGNED_UP
    employee.save(update_fields=["user", "invitation_state", "updated_at"])
    # Other open links of this employee are spent too.
    Invitation.objects.filter(employee=employee, used_at__isnull=True).update(used_at=now)
    audit.record(
        "employee.sign_up",
        company=employee.company,
        actor=user,
        target=f"employee:{employee.pk}",
        invitation=invitation.pk,
    )
    return employee
