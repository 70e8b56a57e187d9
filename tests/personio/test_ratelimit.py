"""The sliding-window limiter, driven by an injected clock (no test sleeps)."""

from __future__ import annotations

import threading

import pytest

from benefitsync.integrations.personio.ratelimit import (
    PERSONIO_EMPLOYEES_WINDOWS,
    RateLimiter,
    Window,
    floor_seconds,
)


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def personio(clock: FakeClock, margin: float = 0.0) -> RateLimiter:
    return RateLimiter(PERSONIO_EMPLOYEES_WINDOWS, margin=margin, clock=clock, sleep=clock.sleep)


def test_a_burst_of_fifteen_goes_out_at_once_and_the_sixteenth_waits_a_second() -> None:
    clock = FakeClock()
    limiter = personio(clock)
    assert [limiter.reserve() for _ in range(15)] == [0.0] * 15
    assert limiter.reserve() == pytest.approx(1.0)


def test_no_more_than_three_hundred_requests_start_in_any_minute() -> None:
    clock = FakeClock()
    limiter = personio(clock)
    starts = []
    for _ in range(301):
        limiter.acquire()
        starts.append(clock.now)
    assert starts[299] < 60.0
    assert starts[300] >= starts[0] + 60.0
    for i in range(len(starts) - 15):
        assert starts[i + 15] - starts[i] >= 1.0 - 1e-9


def test_the_margin_widens_each_window_for_network_jitter() -> None:
    clock = FakeClock()
    limiter = personio(clock, margin=0.05)
    for _ in range(15):
        limiter.reserve()
    assert limiter.reserve() == pytest.approx(1.05)


def test_try_acquire_rejects_without_reserving_so_the_server_can_answer_429() -> None:
    clock = FakeClock()
    limiter = RateLimiter([Window(2, 1.0)], clock=clock)
    assert limiter.try_acquire() and limiter.try_acquire()
    assert not limiter.try_acquire()
    clock.now = 1.0
    assert limiter.try_acquire()


def test_acquire_gives_up_without_a_reservation_when_the_wait_exceeds_the_timeout() -> None:
    clock = FakeClock()
    limiter = RateLimiter([Window(1, 10.0)], clock=clock, sleep=clock.sleep)
    assert limiter.acquire(timeout=1.0)
    assert not limiter.acquire(timeout=1.0)
    assert clock.slept == []
    clock.now = 10.0
    assert limiter.acquire(timeout=0.0)


def test_a_pause_after_a_429_holds_every_caller_back() -> None:
    clock = FakeClock()
    limiter = personio(clock)
    limiter.pause(1.5)
    assert limiter.reserve() == pytest.approx(1.5)


def test_threads_sharing_a_limiter_never_exceed_the_burst() -> None:
    clock = FakeClock()
    limiter = RateLimiter([Window(15, 1.0)], clock=clock)
    delays: list[float] = []
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(10):
            d = limiter.reserve()
            assert d is not None
            with lock:
                delays.append(d)

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    delays.sort()
    assert len(delays) == 60
    assert [round(d) for d in delays[::15]] == [0, 1, 2, 3]


def test_the_floor_for_a_hundred_pages_is_six_seconds_under_personio_limits() -> None:
    assert floor_seconds(100, PERSONIO_EMPLOYEES_WINDOWS) == pytest.approx(6.0)
    assert floor_seconds(301, PERSONIO_EMPLOYEES_WINDOWS) == pytest.approx(60.0)


def test_a_limiter_without_windows_is_refused() -> None:
    with pytest.raises(ValueError):
        RateLimiter([])


def test_after_a_429_the_margin_widens_up_to_its_maximum() -> None:
    clock = FakeClock()
    limiter = personio(clock, margin=0.05)
    limiter.widen(0.05, 0.12)
    assert limiter.margin == pytest.approx(0.10)
    limiter.widen(0.05, 0.12)
    limiter.widen(0.05, 0.12)
    assert limiter.margin == pytest.approx(0.12)
    for _ in range(15):
        assert limiter.reserve() == 0
    assert limiter.reserve() == pytest.approx(1.12)
