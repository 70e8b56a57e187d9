"""A sliding-window rate limiter for the Personio client (blocking) and the sandbox (rejecting).

Personio documents the employees endpoint as "300 requests per min with a burst rate capability of
15 reqs per second", answering 429 beyond it, and `/v1/auth` as 60 requests per minute
(https://developer.personio.de/changelog/rate-limits-on-get-employees-endpoint-may-6-2024,
https://developer.personio.de/reference/auth). We read that literally as two windows that must
both hold: at most 15 requests in any 1 s and at most 300 in any 60 s. The sandbox enforces exactly
that; the client keeps the same windows widened by a small `margin`, so requests that leave the
client back to back still arrive at the server inside its limits despite scheduling jitter.

The limiter keeps the timestamps of the last `max(limit)` grants (a sliding-window log), so its
memory is bounded by the largest limit (300 floats), and it never sleeps while holding its lock:
a caller *reserves* the earliest allowed slot and then sleeps outside the lock, which makes it
safe to share between the client's worker threads and fair (first come, first served).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Window:
    """At most `limit` grants in any interval of `period` seconds."""

    limit: int
    period: float


#: Personio's documented limits for `GET /v1/company/employees` (and, in the sandbox, the other
#: `/v1/company/employees*` endpoints): bursts of 15/s, 300/min.
PERSONIO_EMPLOYEES_WINDOWS: tuple[Window, ...] = (Window(15, 1.0), Window(300, 60.0))
#: Personio's documented limit for `POST /v1/auth`: 60/min.
PERSONIO_AUTH_WINDOWS: tuple[Window, ...] = (Window(60, 60.0),)


class RateLimiter:
    """Grants request slots so that every window in `windows` holds.

    `clock` and `sleep` are injectable so tests can drive time without sleeping. `margin` widens
    every window by that many seconds (client side safety against jitter; the server uses 0).
    """

    def __init__(
        self,
        windows: Sequence[Window],
        *,
        margin: float = 0.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not windows:
            raise ValueError("a rate limiter needs at least one window")
        if any(w.limit < 1 or w.period <= 0 for w in windows):
            raise ValueError("window limits must be >= 1 and periods > 0")
        self.windows = tuple(windows)
        self.margin = margin
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._grants: deque[float] = deque(maxlen=max(w.limit for w in self.windows))
        self._paused_until = float("-inf")

    @classmethod
    def personio_employees(
        cls,
        *,
        margin: float = 0.05,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> RateLimiter:
        """The client-side limiter for Personio's employees endpoints (15/s, 300/min)."""
        return cls(PERSONIO_EMPLOYEES_WINDOWS, margin=margin, clock=clock, sleep=sleep)

    @classmethod
    def personio_auth(
        cls,
        *,
        margin: float = 0.05,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> RateLimiter:
        """The client-side limiter for Personio's `/v1/auth` (60/min)."""
        return cls(PERSONIO_AUTH_WINDOWS, margin=margin, clock=clock, sleep=sleep)

    def _earliest(self, now: float) -> float:
        # Grants are appended in non-decreasing order, so for a window of `limit` the slot frees
        # up `period` after the limit-th most recent grant.
        t = max(now, self._paused_until)
        if self._grants:
            t = max(t, self._grants[-1])
        n = len(self._grants)
        for w in self.windows:
            if n >= w.limit:
                t = max(t, self._grants[n - w.limit] + w.period + self.margin)
        return t

    def reserve(self, *, max_wait: float | None = None) -> float | None:
        """Reserve the earliest slot; returns the seconds to wait for it (0 = go now).

        With `max_wait`, a slot further away than that is not reserved and None is returned, so
        a caller with a deadline neither waits past it nor blocks others with a dead reservation.
        """
        with self._lock:
            now = self._clock()
            t = self._earliest(now)
            if max_wait is not None and t - now > max_wait:
                return None
            self._grants.append(t)
            return t - now

    def acquire(self, *, timeout: float | None = None) -> bool:
        """Block until a slot is granted; False (nothing reserved) when it would take > timeout."""
        delay = self.reserve(max_wait=timeout)
        if delay is None:
            return False
        if delay > 0:
            self._sleep(delay)
        return True

    def try_acquire(self) -> bool:
        """Grant a slot only if one is free right now (the sandbox's 429 decision)."""
        return self.reserve(max_wait=0.0) is not None

    def pause(self, seconds: float) -> None:
        """Grant nothing for `seconds` (after a 429 every thread backs off, not just one)."""
        with self._lock:
            self._paused_until = max(self._paused_until, self._clock() + seconds)

    def widen(self, step: float, maximum: float) -> None:
        """Add `step` to the safety margin, up to `maximum`.

        A 429 despite the margin means requests reach the server closer together than they
        left the limiter (a busy process sends some late, bunching them): keep a wider margin
        for the rest of this client's life instead of paying another ≥ 1 s pause.
        """
        with self._lock:
            self.margin = min(maximum, max(self.margin, self.margin + step))

    def reset(self) -> None:
        """Forget all grants and pauses."""
        with self._lock:
            self._grants.clear()
            self._paused_until = float("-inf")


def floor_seconds(requests: int, windows: Sequence[Window]) -> float:
    """The earliest time (from the first request at 0) at which the last of `requests` may start.

    This is the floor the limits put on any client; the benchmark compares wall time against it.
    """
    clock_now = [0.0]
    limiter = RateLimiter(windows, clock=lambda: clock_now[0])
    last = 0.0
    for _ in range(requests):
        delay = limiter.reserve()
        assert delay is not None
        last = clock_now[0] + delay
    return last
