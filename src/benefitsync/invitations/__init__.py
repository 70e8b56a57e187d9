"""Invitations and their e-mails (an outbox: each sent exactly once)."""
