"""Authenticated encryption of secrets at rest (Personio client secrets).

Fernet (AES-128-CBC + HMAC-SHA256) from `cryptography`; MultiFernet gives key rotation: the first
key encrypts, every listed key decrypts, and `rotate()` re-encrypts a token under the first key.
The keys live outside the database (environment or the data directory), never beside the data.
"""

from __future__ import annotations

import hashlib
import hmac
from functools import cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings


class SecretUnreadable(Exception):
    """A stored secret cannot be decrypted with any configured key."""


@cache
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(key.encode()) for key in keys])


def _current() -> MultiFernet:
    return _fernet(tuple(settings.BENEFITSYNC_ENCRYPTION_KEYS))


def encrypt(plaintext: str) -> str:
    return _current().encrypt(plaintext.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return _current().decrypt(token.encode()).decode()
    except InvalidToken:
        raise SecretUnreadable("no configured encryption key can read this secret") from None


def rotate(token: str) -> str:
    """Re-encrypt under the primary key (the first of BENEFITSYNC_ENCRYPTION_KEYS)."""
    try:
        return _current().rotate(token.encode()).decode()
    except InvalidToken:
        raise SecretUnreadable("no configured encryption key can read this secret") from None


def new_key() -> str:
    return Fernet.generate_key().decode()


def validate_key(key: str) -> None:
    Fernet(key.encode())


def keyed_digests(message: str) -> list[str]:
    """HMAC-SHA256 of `message` under each configured key, the current key's first.

    For remembering a fact about a value without keeping the value (an erased employee's
    Personio ID): without the key, which lives outside the database, a digest cannot be tested
    against guesses. Compare against all of them, so a key rotation forgets nothing.
    """
    data = message.encode()
    return [
        hmac.new(key.encode(), data, hashlib.sha256).hexdigest()
        for key in settings.BENEFITSYNC_ENCRYPTION_KEYS
    ]
