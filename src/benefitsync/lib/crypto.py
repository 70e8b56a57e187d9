"""Authenticated encryption of secrets at rest (Personio client secrets).

Fernet (AES-128-CBC + HMAC-SHA256) from `cryptography`; MultiFernet gives key rotation: the first
key encrypts, every listed key decrypts, and `rotate()` re-encrypts a token under the first key.
The keys live outside the database (environment or the data directory), never beside the data.

`cryptography` is imported on first use, not with this module: settings.py checks and makes keys
in every command's start, and importing Fernet costs ~7 ms of CPU there.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
from functools import cache
from typing import TYPE_CHECKING

from django.conf import settings

if TYPE_CHECKING:
    from cryptography.fernet import MultiFernet


class SecretUnreadable(Exception):
    """A stored secret cannot be decrypted with any configured key."""


@cache
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    from cryptography.fernet import Fernet, MultiFernet

    return MultiFernet([Fernet(key.encode()) for key in keys])


def _current() -> MultiFernet:
    return _fernet(tuple(settings.BENEFITSYNC_ENCRYPTION_KEYS))


def encrypt(plaintext: str) -> str:
    return _current().encrypt(plaintext.encode()).decode()


def decrypt(token: str) -> str:
    from cryptography.fernet import InvalidToken

    try:
        return _current().decrypt(token.encode()).decode()
    except InvalidToken:
        raise SecretUnreadable("no configured encryption key can read this secret") from None


def rotate(token: str) -> str:
    """Re-encrypt under the primary key (the first of BENEFITSYNC_ENCRYPTION_KEYS)."""
    from cryptography.fernet import InvalidToken

    try:
        return _current().rotate(token.encode()).decode()
    except InvalidToken:
        raise SecretUnreadable("no configured encryption key can read this secret") from None


def new_key() -> str:
    """A new Fernet key (as `Fernet.generate_key()` makes one)."""
    return base64.urlsafe_b64encode(os.urandom(32)).decode()


def validate_key(key: str) -> None:
    """ValueError unless `key` is a Fernet key: 32 bytes in url-safe base64, exactly what
    `Fernet(key)` checks (tests/test_crypto_keys.py holds both to the same answers)."""
    try:
        raw = base64.urlsafe_b64decode(key.encode())
    except (binascii.Error, ValueError) as exc:
        raise ValueError("a Fernet key is 32 url-safe base64-encoded bytes") from exc
    if len(raw) != 32:
        raise ValueError("a Fernet key is 32 url-safe base64-encoded bytes")


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
