"""`lib.crypto` checks and makes Fernet keys without importing `cryptography` (every command's
start does it in settings.py): it must accept and refuse exactly what Fernet does."""

from __future__ import annotations

import base64

import pytest
from cryptography.fernet import Fernet

from benefitsync.lib import crypto

KEYS = [
    Fernet.generate_key().decode(),
    base64.urlsafe_b64encode(b"\xff" * 32).decode(),
    base64.urlsafe_b64encode(b"x" * 31).decode(),
    base64.urlsafe_b64encode(b"x" * 33).decode(),
    base64.standard_b64encode(b"\xfb" * 32).decode(),  # + and / instead of - and _
    Fernet.generate_key().decode().rstrip("="),
    Fernet.generate_key().decode() + "\n",
    "",
    "not a key",
    "ä" * 44,
]


def _fernet_accepts(key: str) -> bool:
    try:
        Fernet(key.encode())
    except ValueError:
        return False
    return True


def _we_accept(key: str) -> bool:
    try:
        crypto.validate_key(key)
    except ValueError:
        return False
    return True


@pytest.mark.parametrize("key", KEYS)
def test_a_key_is_valid_exactly_when_fernet_takes_it(key: str) -> None:
    assert _we_accept(key) == _fernet_accepts(key)


def test_a_new_key_is_a_fernet_key_and_new_each_time() -> None:
    keys = {crypto.new_key() for _ in range(20)}
    assert len(keys) == 20
    assert all(_fernet_accepts(key) for key in keys)
