"""Retries of one logical Personio call: tenacity, configured for Personio's rules.

- What is retried: `Transient` (429, 5xx, timeouts, connection errors, unparsable JSON, a freshly
  issued token refused again). Everything else ends the call at once.
- Back-off: capped exponential with jitter; after a 429 the first wait is at least 1 s, as
  Personio asks ("a delay of at least 1 second",
  https://developer.personio.de/changelog/rate-limits-on-get-employees-endpoint-may-6-2024),
  and the shared limiter pauses every thread of the client for that long and widens its margin.
- Stop: after `max_attempts`, or when the next wait would end past the call's deadline (no
  pointless last sleep); then `RetriableError`.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt, stop_any
from tenacity.stop import stop_base

from .errors import RetriableError
from .ratelimit import RateLimiter

T = TypeVar("T")

# After each 429 the limiter's safety margin grows by this much, up to the maximum.
_MARGIN_STEP = 0.05
_MARGIN_MAX = 0.3


class Transient(Exception):
    """A failure worth retrying; becomes `RetriableError` when retries run out."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class _StopAtDeadline(stop_base):
    """Stop retrying when the next back-off would end past the deadline (no pointless sleep)."""

    def __init__(self, deadline_at: float) -> None:
        self.deadline_at = deadline_at

    def __call__(self, retry_state: RetryCallState) -> bool:
        return time.monotonic() + retry_state.upcoming_sleep >= self.deadline_at


@dataclass
class RetryPolicy:
    """How one logical call is retried. `call(fn, what)` runs `fn(deadline_at)` until it returns,
    raises something that is not `Transient`, or attempts/deadline run out (`RetriableError`).

    `wait_scale` multiplies every back-off (tests use ~0.01 or 0); `on_retry` counts retries.
    """

    limiter: RateLimiter
    max_attempts: int = 8
    deadline: float = 300.0
    wait_scale: float = 1.0
    max_backoff: float = 30.0
    sleep: Callable[[float], None] = time.sleep
    rng: random.Random = field(default_factory=random.Random)
    on_retry: Callable[[], None] = lambda: None
    _rng_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def _jitter(self, low: float, high: float) -> float:
        with self._rng_lock:
            return self.rng.uniform(low, high)

    def backoff(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        base = min(self.max_backoff, 0.5 * 2 ** (state.attempt_number - 1))
        if isinstance(exc, Transient) and exc.status == 429:
            # Personio: retry a 429 "with a delay of at least 1 second"; jitter spreads threads.
            wait = max(1.0, base) * self._jitter(1.0, 1.5) * self.wait_scale
            self.limiter.pause(wait)
            self.limiter.widen(_MARGIN_STEP, _MARGIN_MAX)
            return float(wait)
        return float(base * self._jitter(0.5, 1.0) * self.wait_scale)

    def call(self, fn: Callable[[float], T], what: str) -> T:
        deadline_at = time.monotonic() + self.deadline
        retrying = Retrying(
            retry=retry_if_exception_type(Transient),
            stop=stop_any(stop_after_attempt(self.max_attempts), _StopAtDeadline(deadline_at)),
            wait=self.backoff,
            sleep=self.sleep,
            before_sleep=lambda state: self.on_retry(),
            reraise=True,
        )
        try:
            return retrying(fn, deadline_at)
        except Transient as exc:
            raise RetriableError(f"{what}: {exc}", status=exc.status) from exc
