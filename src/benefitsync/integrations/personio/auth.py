"""Personio's bearer tokens as an `httpx.Auth`: a process-wide token cache, one re-authentication
on 401, and the token Personio may echo back.

Follows https://developer.personio.de/reference/auth: tokens are stable `papi-…` tokens valid for
24 h (https://developer.personio.de/changelog/authentication-api-improved-bearer-token), so they
are cached per credential (base URL, client id, secret hash) until 5 minutes before `expires_in`
runs out. A 401 on an authenticated request means the token expired or was revoked: the flow
gets a fresh token (one /v1/auth per credential at a time, however many threads saw the 401)
and sends the same request once more. A second 401 goes back to the caller, which treats a
freshly issued token refused again as transient (the credentials were just accepted, so they
are not what is wrong). An `Authorization` header echoed in a response replaces the cached token
(Personio's older one-time tokens rotated that way).
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable, Generator
from dataclasses import dataclass, field

import httpx

from .ratelimit import RateLimiter

# Re-authenticate this long before Personio's `expires_in` runs out, so a token never expires
# between our check and Personio's.
TOKEN_SAFETY_SECONDS = 300.0


@dataclass(frozen=True)
class Credentials:
    """A Personio API credential; the secret never appears in repr() or logs."""

    client_id: str
    client_secret: str = field(repr=False)

    def cache_key(self, base_url: str) -> tuple[str, str, str]:
        digest = hashlib.sha256(self.client_secret.encode()).hexdigest()
        return (base_url.rstrip("/"), self.client_id, digest)


@dataclass
class _Token:
    value: str
    expires_at: float  # time.monotonic()


_TOKENS: dict[tuple[str, str, str], _Token] = {}
_TOKENS_LOCK = threading.Lock()
# One authentication in flight per credential: threads that hit a 401 together wait for the
# first one's fresh token instead of each calling /v1/auth (which is limited to 60/min).
_AUTH_LOCKS: dict[tuple[str, str, str], threading.Lock] = {}


def clear_token_cache() -> None:
    """Forget every cached token (tests; also after a credential is disconnected)."""
    with _TOKENS_LOCK:
        _TOKENS.clear()


#: Issues a new token: POST /v1/auth with its own retries; returns (token, lifetime seconds).
IssueToken = Callable[[], tuple[str, float]]


class PersonioAuth(httpx.Auth):
    """Bearer auth for one credential against one base URL.

    `issue` performs `POST /v1/auth` (the client's, with its limiter and retries). `limiter`
    paces the one re-send after a 401 like any other request; `on_resend(response)` lets the
    client count the refused response and the extra request.
    """

    requires_response_body = True  # the 401's body carries Personio's message

    def __init__(
        self,
        key: tuple[str, str, str],
        issue: IssueToken,
        *,
        limiter: RateLimiter,
        resend_wait: float = 30.0,
        on_resend: Callable[[httpx.Response], None] = lambda response: None,
    ) -> None:
        self.key = key
        self.issue = issue
        self.limiter = limiter
        self.resend_wait = resend_wait
        self.on_resend = on_resend

    def token(self, *, force: bool = False, stale: str | None = None) -> str:
        """A valid token, authenticating when none is cached (or `force`, or the cached one is
        `stale`: the one a 401 just refused)."""
        with _TOKENS_LOCK:
            auth_lock = _AUTH_LOCKS.setdefault(self.key, threading.Lock())
        with auth_lock:
            with _TOKENS_LOCK:
                cached = _TOKENS.get(self.key)
                if cached and stale is not None and cached.value == stale:
                    del _TOKENS[self.key]
                    cached = None
                if cached and not force and cached.expires_at > time.monotonic():
                    return cached.value
            value, lifetime = self.issue()
            with _TOKENS_LOCK:
                _TOKENS[self.key] = _Token(
                    value, time.monotonic() + max(0.0, lifetime - TOKEN_SAFETY_SECONDS)
                )
            return value

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        token = self.token()
        request.headers["Authorization"] = f"Bearer {token}"
        response = yield request
        if response.status_code == 401:
            # The token expired or was revoked: one fresh token, one more try.
            self.on_resend(response)
            token = self.token(stale=token)
            request.headers["Authorization"] = f"Bearer {token}"
            self.limiter.acquire(timeout=self.resend_wait)
            response = yield request
        self._remember_echoed(response, token)

    def _remember_echoed(self, response: httpx.Response, used: str) -> None:
        echoed = response.headers.get("authorization", "")
        if echoed.lower().startswith("bearer "):
            value = echoed[7:].strip()
            if value and value != used:
                with _TOKENS_LOCK:
                    current = _TOKENS.get(self.key)
                    if current and current.value == used:
                        current.value = value
