"""Login throttling: after too many failed logins for one e-mail address or from one client
address, further attempts are refused for a while. Counters live in Django's cache (Redis in
the scale mode, so every web process sees the same counts)."""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.core.cache import cache


def _key(kind: str, value: str) -> str:
    digest = hashlib.sha256(value.strip().lower().encode()).hexdigest()[:32]
    return f"login-fail:{kind}:{digest}"


def _keys(email: str, address: str) -> list[str]:
    return [_key("email", email), _key("ip", address)]


def is_locked(email: str, address: str) -> bool:
    limits = {"email": settings.LOGIN_MAX_FAILURES, "ip": settings.LOGIN_MAX_FAILURES * 4}
    for key in _keys(email, address):
        kind = key.split(":")[1]
        if (cache.get(key) or 0) >= limits[kind]:
            return True
    return False


def record_failure(email: str, address: str) -> None:
    for key in _keys(email, address):
        cache.add(key, 0, settings.LOGIN_LOCK_SECONDS)
        try:
            cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.set(key, 1, settings.LOGIN_LOCK_SECONDS)


def reset(email: str) -> None:
    cache.delete(_key("email", email))
