"""`lib.crypto` checks and makes Fernet keys without importing `cryptography` (every command's
start does it in settings.py): it must accept and refuse exactly what Fernet does."""

from __future__ import annotations

import base64

import pytest
from cryptography.fernet import Fernet

from benefitsync.lib import crypto

# Fixed values: pytest-xdist's workers must collect the same test ids.
_KEY = base64.urlsafe_b64encode(bytes(range(32))).decode()
KEYS = {
    "a valid key": _KEY,
    "32 bytes 0xff (- and _)": base64.urlsafe_b64encode(b"\xff" * 32).decode(),
    "31 bytes": base64.urlsafe_b64encode(b"x" * 31).decode(),
    "33 bytes": base64.urlsafe_b64encode(b"x" * 33).decode(),
    "+ and / instead of - and _": base64.standard_b64encode(b"\xfb" * 32).decode(),
    "no padding": _KEY.rstrip("="),
    "a trailing newline": _KEY + "\n",
    "empty": "",
    "not base64": "not a key",
    "non-ASCII": "ä" * 44,
}


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


@pytest.mark.parametrize("key", KEYS.values(), ids=KEYS.keys())
def test_a_key_is_valid_exactly_when_fernet_takes_it(key: str) -> None:
    assert _we_accept(key) == _fernet_accepts(key)


def test_a_new_key_is_a_fernet_key_and_new_each_time() -> None:
    keys = {crypto.new_key() for _ in range(20)}
    assert len(keys) == 20
    assert all(_fernet_accepts(key) for key in keys)
