"""Login throttling, the one throttle every login form goes through (portal, back office, and
any future API login): `accounts.backends.ThrottledModelBackend` asks it before checking a
password, so whatever form calls `authenticate()` is covered.

Two counters per failed login, in Django's cache (the database cache in the embedded default,
Redis in the scale mode), so a restart keeps them and every web process sees the same counts:

- per account, keyed on the e-mail address as Django compares it (NFKC-normalised, case-folded):
  after `LOGIN_MAX_FAILURES` failures within `LOGIN_LOCK_SECONDS` the account is locked, even
  for the right password, until the window ends (the message links to the password reset);
- per client address: behind a proxy many people share one address, so a busy address never
  locks anyone out. It only shortens the tries: from an address with more than
  `4 × LOGIN_MAX_FAILURES` failures in the window, an account that already failed *from that
  address* `LOGIN_BUSY_ADDRESS_FAILURES` times is refused there. A guesser spraying one address
  gets a try or two per account, while colleagues behind the same proxy log in with the right
  password.

The client address is `REMOTE_ADDR`, or, with `TRUSTED_PROXY_HOPS = n > 0`, the n-th entry
from the right of `X-Forwarded-For` (the address the outermost trusted proxy saw).
"""

from __future__ import annotations

import hashlib
import unicodedata

from django.conf import settings
from django.core.cache import cache, caches
from django.core.cache.backends.db import DatabaseCache
from django.core.cache.backends.redis import RedisCache
from django.db import connections, router
from django.http import HttpRequest

# An address with more failures than this many times LOGIN_MAX_FAILURES is "busy".
BUSY_ADDRESS_FACTOR = 4


def canonical_email(email: str) -> str:
    """The e-mail address as logins compare it: NFKC (as Django normalises user names, so a
    fullwidth `ｈ` is an `h`), stripped, lower-cased (e-mail addresses are stored lower-case)."""
    return unicodedata.normalize("NFKC", email).strip().lower()


def client_address(request: HttpRequest | None) -> str:
    """The client's address; taken from `X-Forwarded-For` only when proxies are trusted."""
    if request is None:
        return ""
    hops: int = settings.TRUSTED_PROXY_HOPS
    if hops > 0:
        forwarded = [a.strip() for a in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        forwarded = [a for a in forwarded if a]
        if len(forwarded) >= hops:
            return str(forwarded[-hops])
    return str(request.META.get("REMOTE_ADDR", ""))


def _key(kind: str, *values: str) -> str:
    # Hashed: the cache (a database table in the default) holds no e-mail addresses.
    digest = hashlib.sha256("\x00".join(values).encode()).hexdigest()[:32]
    return f"login-fail:{kind}:{digest}"


def _account(email: str) -> str:
    return _key("account", canonical_email(email).casefold())


def _address(address: str) -> str:
    return _key("address", address)


def _pair(email: str, address: str) -> str:
    return _key("pair", canonical_email(email).casefold(), address)


def _count(key: str) -> int:
    return int(cache.get(key) or 0)


def is_locked(email: str, address: str) -> bool:
    """Is a login for `email` from `address` refused now, whatever the password?"""
    if _count(_account(email)) >= settings.LOGIN_MAX_FAILURES:
        return True
    busy = _count(_address(address)) > settings.LOGIN_MAX_FAILURES * BUSY_ADDRESS_FACTOR
    return busy and _count(_pair(email, address)) >= settings.LOGIN_BUSY_ADDRESS_FAILURES


def _increment(key: str) -> None:
    # add() starts the window; the window is not extended by later failures. On the database
    # cache incr() is a read and a write, so two simultaneous failures may count as one: the
    # limit can be off by the number of web processes, never bypassed.
    cache.add(key, 0, settings.LOGIN_LOCK_SECONDS)
    try:
        cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, settings.LOGIN_LOCK_SECONDS)


def record_failure(email: str, address: str) -> None:
    for key in (_account(email), _address(address), _pair(email, address)):
        _increment(key)


def reset(email: str, address: str) -> None:
    """A successful login clears the account's counts (not the address's)."""
    cache.delete_many([_account(email), _pair(email, address)])


def unlock_all() -> None:
    """Forget every login failure (an operator's "unlock everyone"). Only the throttle's keys
    go: in the scale mode the cache shares Redis with the job queue, which `cache.clear()`
    would wipe."""
    backend = caches["default"]  # the backend itself (`cache` is a proxy to it)
    pattern = backend.make_key("login-fail:")
    if isinstance(backend, RedisCache):
        client = backend._cache.get_client(write=True)  # type: ignore[attr-defined]  # Django's own client
        keys = list(client.scan_iter(match=pattern + "*"))
        if keys:
            client.delete(*keys)
    elif isinstance(backend, DatabaseCache):
        db = router.db_for_write(backend.cache_model_class)
        table = connections[db].ops.quote_name(backend._table)  # type: ignore[attr-defined]  # its table
        with connections[db].cursor() as cursor:
            cursor.execute(f"DELETE FROM {table} WHERE cache_key LIKE %s", [pattern + "%"])  # noqa: S608  # the table name is ours
    else:
        backend.clear()
