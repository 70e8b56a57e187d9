"""Operator commands: start everything locally, demo data, encryption keys."""
