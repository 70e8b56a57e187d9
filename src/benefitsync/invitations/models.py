"""Invitations to sign up, and the e-mail outbox that sends each message exactly once."""

from __future__ import annotations

from django.db import models


class Invitation(models.Model):
    """A sign-up link for one employee. Only a hash of the token is stored."""

    company = models.ForeignKey("companies.Company", on_delete=models.CASCADE, related_name="+")
    employee = models.ForeignKey(
        "employees.Employee", on_delete=models.CASCADE, related_name="invitations"
    )
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"invitation #{self.pk} for employee #{self.employee_id}"


# Stands in the stored body for the sign-up link, which is kept only encrypted in `secret`.
LINK_PLACEHOLDER = "[sign-up link]"


class OutboundEmail(models.Model):
    """An e-mail waiting to be sent. `key` is unique, so enqueuing the same message twice (a retried
    job, a crashed worker) stores it once; the sender marks `sent_at` so it goes out once.

    A live sign-up link is never readable from the database or the back office: `body` holds
    LINK_PLACEHOLDER where the link goes, `secret` the link encrypted with the encryption key
    (kept outside the database), and sending empties `secret`."""

    company = models.ForeignKey(
        "companies.Company", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    key = models.CharField(max_length=200, unique=True)
    to = models.EmailField()
    subject = models.CharField(max_length=300)
    body = models.TextField()
    secret = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True, db_index=True)
    # A sender claims a row (conditional update) before handing it to the mail backend, so two
    # workers never send the same row; a claim older than OUTBOX_CLAIM_SECONDS is a dead worker's.
    claimed_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)

    class Meta:
        ordering = ["created_at"]

    def __str__(self) -> str:
        return f"{self.key} → {self.to}"
