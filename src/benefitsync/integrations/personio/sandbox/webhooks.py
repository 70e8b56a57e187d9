"""Personio's webhooks in the sandbox: the registered webhooks, the events, and their delivery.

What Personio documents (sources and the sandbox's own assumptions: docs/personio.md):
the management API stores `url`, `description`, `status` (default DISABLED), `auth_type` (NONE,
TOKEN — the default —, CUSTOM), `token`, `custom_headers` and `enabled_events`. A delivery is a
POST of `{company_id, event_name, occurred_at, payload, meta}`, dataless, with the token verbatim
in `Authorization`; a 2xx within 3 s counts, redirects are not followed; no answer within 3 s or a
5xx other than 501 is retried: up to 6 attempts with growing delays, each attempt up to 2
immediate requests.

Delivery runs on threads of its own (`WebhookDispatcher`), never on the server's event loop: a
change only appends to a bounded backlog, so a slow or dead receiver never slows the sandbox's
answers. Deliveries to one webhook go out one at a time in the order they became due (a lane per
webhook), so without faults a receiver sees events in the order they happened; retries wait
outside the lane and do not hold later events back.
"""

from __future__ import annotations

import heapq
import ipaddress
import itertools
import json
import logging
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import httpx

EVENT_NAMES = (
    "person.created",
    "person.updated",
    "person.deleted",
    "employment.created",
    "employment.updated",
    "employment.deleted",
    "employment.started",
    "employment.terminated",
)
STATUSES = ("ENABLED", "DISABLED")
AUTH_TYPES = ("NONE", "TOKEN", "CUSTOM")
MAX_CUSTOM_HEADERS = 3
# Headers the sender sets itself; a custom header must not replace them.
RESERVED_HEADERS = frozenset(
    {"authorization", "content-type", "content-length", "host", "user-agent", "connection"}
)

ACK_TIMEOUT = 3.0  # Personio: "acknowledged within 3s with a 2xx"
MAX_ATTEMPTS = 6
REQUESTS_PER_ATTEMPT = 2  # Personio's "fast-attempt": a second request right after a failed one
# Personio says "increasing delays … for up to 3 days" without the schedule; these are ours
# (1 min, 10 min, 1 h, 6 h, 2 days: the sixth attempt about 2.3 days after the first), scaled by
# the fault setting `webhook_retry_scale`.
RETRY_DELAYS = (60.0, 600.0, 3600.0, 6 * 3600.0, 2 * 86400.0)

WEBHOOK_FAULT_KINDS = ("drop", "duplicate", "delay", "reorder")
MAX_PENDING = 10_000  # deliveries waiting or in flight; beyond it new ones are counted and lost
LOG_SIZE = 5_000
SENDERS = 8

logger = logging.getLogger(__name__)


class WebhookInvalid(ValueError):
    """A management request Personio would refuse: `status` is the HTTP status to answer."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


def _utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _check_url(raw: object) -> str:
    if not isinstance(raw, str) or not raw.strip():
        raise WebhookInvalid(422, "url is required")
    url = raw.strip()
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise WebhookInvalid(422, "url must be an absolute HTTPS URL")
    # Personio requires HTTPS; the sandbox also accepts plain http on loopback so a portal on
    # this machine can receive without a certificate.
    if parts.scheme == "http" and not _is_loopback(parts.hostname):
        raise WebhookInvalid(422, "url must use HTTPS (plain http only on loopback)")
    return url


@dataclass
class Webhook:
    """A registered webhook. `token` and custom header values are write-only: never rendered.
    `owner` is the client id of the credential that registered it."""

    id: str
    owner: str
    url: str
    description: str
    status: str
    auth_type: str
    token: str | None
    custom_headers: dict[str, str]
    enabled_events: list[str]
    created_at: str
    updated_at: str

    def public(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "url": self.url,
            "description": self.description,
            "status": self.status,
            "auth_type": self.auth_type,
            "enabled_events": list(self.enabled_events),
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        }

    def target(self) -> WebhookTarget:
        headers: dict[str, str] = {}
        if self.auth_type == "TOKEN" and self.token:
            headers["Authorization"] = self.token  # verbatim: Personio adds no "Bearer"
        elif self.auth_type == "CUSTOM":
            headers.update(self.custom_headers)
        return WebhookTarget(self.id, self.url, tuple(headers.items()))


def build_webhook(body: Mapping[str, Any], owner: str, existing: Webhook | None = None) -> Webhook:
    """A webhook from a create (`existing` None) or update body; WebhookInvalid if Personio
    would refuse it (422 for invalid fields)."""
    known = {
        "url",
        "description",
        "status",
        "auth_type",
        "token",
        "custom_headers",
        "enabled_events",
    }
    unknown = set(body) - known
    if unknown:
        raise WebhookInvalid(422, f"unknown fields: {sorted(unknown)}")
    merged: dict[str, Any] = (
        {
            "url": existing.url,
            "description": existing.description,
            "status": existing.status,
            "auth_type": existing.auth_type,
            "token": existing.token,
            "custom_headers": dict(existing.custom_headers),
            "enabled_events": list(existing.enabled_events),
        }
        if existing
        else {"status": "DISABLED", "auth_type": "TOKEN", "token": None, "custom_headers": {}}
    )
    merged.update(body)
    url = _check_url(merged.get("url"))
    description = merged.get("description")
    if not isinstance(description, str) or not description.strip():
        raise WebhookInvalid(422, "description is required")
    status = merged.get("status") or "DISABLED"
    if status not in STATUSES:
        raise WebhookInvalid(422, f"status must be one of {list(STATUSES)}")
    auth_type = merged.get("auth_type") or "TOKEN"
    if auth_type not in AUTH_TYPES:
        raise WebhookInvalid(422, f"auth_type must be one of {list(AUTH_TYPES)}")
    token = merged.get("token")
    if token is not None and not isinstance(token, str):
        raise WebhookInvalid(422, "token must be a string")
    if auth_type == "TOKEN" and not token:
        # Not seen in Personio's docs whether it would generate one; the sandbox insists.
        raise WebhookInvalid(422, "token is required for auth_type TOKEN")
    headers = merged.get("custom_headers") or {}
    if not isinstance(headers, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in headers.items()
    ):
        raise WebhookInvalid(422, "custom_headers must be an object of strings")
    if headers and auth_type != "CUSTOM":
        raise WebhookInvalid(422, "custom_headers are only allowed with auth_type CUSTOM")
    if len(headers) > MAX_CUSTOM_HEADERS:
        raise WebhookInvalid(422, f"at most {MAX_CUSTOM_HEADERS} custom_headers")
    reserved = sorted(k for k in headers if k.lower() in RESERVED_HEADERS)
    if reserved:
        raise WebhookInvalid(422, f"reserved header names: {reserved}")
    events = merged.get("enabled_events")
    if not isinstance(events, list) or not events:
        raise WebhookInvalid(422, "enabled_events must be a non-empty list")
    bad = sorted({e for e in events if e not in EVENT_NAMES}, key=str)
    if bad:
        raise WebhookInvalid(422, f"unknown events {bad}; known: {list(EVENT_NAMES)}")
    now = _utc_now()
    return Webhook(
        id=existing.id if existing else str(uuid.uuid4()),
        owner=owner,
        url=url,
        description=description.strip(),
        status=status,
        auth_type=auth_type,
        token=token if auth_type == "TOKEN" else None,
        custom_headers=dict(headers),
        enabled_events=list(dict.fromkeys(events)),
        created_at=existing.created_at if existing else now,
        updated_at=now,
    )


@dataclass(frozen=True)
class WebhookTarget:
    """Where and how one delivery goes (a snapshot: later edits of the webhook do not apply to
    events already emitted, as with a queued message)."""

    webhook_id: str
    url: str
    headers: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Event:
    """One change, dataless: `payload` holds ids only."""

    id: str
    company_id: str
    name: str
    occurred_at: str
    payload: dict[str, Any]


@dataclass
class DeliverySettings:
    """What the dispatcher reads from the fault settings before each decision."""

    retry_scale: float = 1.0
    delay_seconds: float = 2.0


@dataclass(order=True)
class _Scheduled:
    due: float
    seq: int
    delivery: _Delivery = field(compare=False)


@dataclass
class _Delivery:
    event: Event
    target: WebhookTarget
    seq: int
    generation: int
    attempt: int = 0


class WebhookDispatcher:
    """Delivers events to webhooks in the background, with Personio's retries and injected faults.

    `draw_fault()` returns the fault for the next delivery (None, or one of
    WEBHOOK_FAULT_KINDS); `settings()` the current retry scale and delay; `on_tick()` runs about
    once a second on the scheduler thread (the sandbox's clock check). None of them is called
    while the dispatcher's own lock is held, so they may take the state's lock.
    """

    def __init__(
        self,
        *,
        draw_fault: Callable[[], str | None],
        settings: Callable[[], DeliverySettings],
        on_tick: Callable[[], None] | None = None,
        senders: int = SENDERS,
    ) -> None:
        self._draw_fault = draw_fault
        self._settings = settings
        self._on_tick = on_tick
        self._senders = senders
        self._cv = threading.Condition()
        self._inbox: deque[_Delivery] = deque()
        self._intaking = 0
        self._heap: list[_Scheduled] = []
        self._held: dict[str, list[tuple[float, _Delivery]]] = {}
        self._lanes: dict[str, deque[_Delivery]] = {}
        self._busy: set[str] = set()
        self._seq = itertools.count(1)
        self._generation = 0
        self._log: deque[dict[str, Any]] = deque(maxlen=LOG_SIZE)
        self._counters: dict[str, int] = {}
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._pool: ThreadPoolExecutor | None = None
        self._http: httpx.Client | None = None
        self.reset_stats()

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> None:
        with self._cv:
            if self._thread is not None:
                return
            self._stopping.clear()
            # Futures cancelled by an earlier stop() never freed their lanes.
            self._busy.clear()
            # trust_env=False: deliveries go exactly where the webhook says, never via a proxy.
            self._http = httpx.Client(timeout=ACK_TIMEOUT, follow_redirects=False, trust_env=False)
            self._pool = ThreadPoolExecutor(self._senders, thread_name_prefix="sandbox-webhook")
            self._thread = threading.Thread(
                target=self._run, name="sandbox-webhook-scheduler", daemon=True
            )
            self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        with self._cv:
            thread, pool, http = self._thread, self._pool, self._http
            self._thread = self._pool = self._http = None
            self._stopping.set()
            self._cv.notify_all()
        if thread is not None:
            thread.join(timeout)
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
        if http is not None:
            http.close()

    def clear(self) -> None:
        """Forget every pending delivery (sandbox reset). Requests in flight finish, but their
        outcome no longer schedules anything."""
        with self._cv:
            self._generation += 1
            self._inbox.clear()
            self._heap.clear()
            self._held.clear()
            self._lanes.clear()
            self._log.clear()
            self._cv.notify_all()

    # -- intake ----------------------------------------------------------------------------

    def emit(self, event: Event, targets: list[WebhookTarget]) -> None:
        """Queue `event` for each target; never blocks (beyond the backlog it is counted as
        overflow and lost, as a crashed Personio worker would lose it)."""
        if not targets:
            return
        with self._cv:
            self._counters["events"] += 1
            for target in targets:
                if self._pending_locked() >= MAX_PENDING:
                    self._counters["overflow"] += 1
                    self._record(event, target, 0, 0, None, "overflow", None)
                    continue
                self._counters["deliveries"] += 1
                self._inbox.append(_Delivery(event, target, next(self._seq), self._generation))
            self._cv.notify_all()

    # -- reading ---------------------------------------------------------------------------

    def _pending_locked(self) -> int:
        return (
            len(self._inbox)
            + self._intaking
            + len(self._heap)
            + sum(len(h) for h in self._held.values())
            + sum(len(q) for q in self._lanes.values())
            + len(self._busy)
        )

    def pending(self) -> int:
        """Deliveries not yet delivered or given up (waiting, held, retrying or in flight)."""
        with self._cv:
            return self._pending_locked()

    def stats(self) -> dict[str, int]:
        with self._cv:
            return {**self._counters, "pending": self._pending_locked()}

    def reset_stats(self) -> None:
        with self._cv:
            self._counters = dict.fromkeys(
                (
                    "events",
                    "deliveries",
                    "requests",
                    "delivered",
                    "retried",
                    "failed",
                    "dropped",
                    "duplicated",
                    "delayed",
                    "reordered",
                    "overflow",
                ),
                0,
            )

    def log(self, limit: int = 500) -> list[dict[str, Any]]:
        """The newest `limit` delivery records (one per request, drop or overflow), oldest
        first."""
        with self._cv:
            entries = list(self._log)
        return entries[-limit:] if limit else []

    def _record(
        self,
        event: Event,
        target: WebhookTarget,
        attempt: int,
        request: int,
        status: int | None,
        outcome: str,
        error: str | None,
    ) -> None:
        self._log.append(
            {
                "event_id": event.id,
                "event_name": event.name,
                "webhook_id": target.webhook_id,
                "attempt": attempt,
                "request": request,
                "status": status,
                "outcome": outcome,
                "error": error,
                "at": _utc_now(),
            }
        )

    # -- the scheduler thread --------------------------------------------------------------

    def _run(self) -> None:
        next_tick = 0.0
        while not self._stopping.is_set():
            now = time.monotonic()
            if self._on_tick is not None and now >= next_tick:
                next_tick = now + 1.0
                try:
                    self._on_tick()
                except Exception:
                    # A failing clock check must never stop deliveries.
                    logger.exception("sandbox clock check failed")
            with self._cv:
                incoming = list(self._inbox)
                self._inbox.clear()
                # Still pending while their faults are drawn (else a waiter sees none pending).
                self._intaking = len(incoming)
            # Faults are drawn without our lock held: draw_fault takes the state's lock.
            decided = [(d, self._draw_fault()) for d in incoming]
            settings = self._settings()
            with self._cv:
                self._intake(decided, settings, time.monotonic())
                self._intaking = 0
                wait = self._dispatch_due(time.monotonic())
                if not self._inbox and not self._stopping.is_set():
                    self._cv.wait(timeout=min(wait, next_tick - time.monotonic(), 0.5))

    def _intake(
        self,
        decided: list[tuple[_Delivery, str | None]],
        settings: DeliverySettings,
        now: float,
    ) -> None:
        for delivery, fault in decided:
            if delivery.generation != self._generation:
                continue
            if fault == "drop":
                self._counters["dropped"] += 1
                self._record(delivery.event, delivery.target, 0, 0, None, "dropped", None)
                continue
            if fault == "duplicate":
                self._counters["duplicated"] += 1
                # The original's place in line: the copy goes out right behind it, not behind
                # events emitted meanwhile (which made the order depend on intake timing).
                twin = _Delivery(delivery.event, delivery.target, delivery.seq, delivery.generation)
                self._schedule(delivery, now)
                self._schedule(twin, now)
                continue
            if fault == "delay":
                self._counters["delayed"] += 1
                self._schedule(delivery, now + settings.delay_seconds)
                continue
            if fault == "reorder":
                # Held until a later delivery to the same webhook went out (or the delay
                # passed), so the receiver sees it after its successor.
                self._counters["reordered"] += 1
                self._held.setdefault(delivery.target.webhook_id, []).append(
                    (now + settings.delay_seconds, delivery)
                )
                continue
            self._schedule(delivery, now)

    def _schedule(self, delivery: _Delivery, due: float) -> None:
        heapq.heappush(self._heap, _Scheduled(due, delivery.seq, delivery))

    def _release_held(self, webhook_id: str, *, before_seq: int | None, now: float) -> None:
        held = self._held.get(webhook_id)
        if not held:
            return
        keep: list[tuple[float, _Delivery]] = []
        for deadline, delivery in held:
            overtaken = before_seq is not None and delivery.seq < before_seq
            if overtaken or deadline <= now:
                self._schedule(delivery, now)
            else:
                keep.append((deadline, delivery))
        if keep:
            self._held[webhook_id] = keep
        else:
            del self._held[webhook_id]

    def _dispatch_due(self, now: float) -> float:
        """Move due deliveries into their lanes and start idle lanes; the seconds until the
        next thing is due."""
        for webhook_id in list(self._held):
            self._release_held(webhook_id, before_seq=None, now=now)
        while self._heap and self._heap[0].due <= now:
            item = heapq.heappop(self._heap)
            if item.delivery.generation == self._generation:
                self._lanes.setdefault(item.delivery.target.webhook_id, deque()).append(
                    item.delivery
                )
        if self._pool is not None:
            for webhook_id, lane in list(self._lanes.items()):
                if webhook_id in self._busy:
                    continue
                if not lane:
                    del self._lanes[webhook_id]
                    continue
                delivery = lane.popleft()
                self._busy.add(webhook_id)
                self._pool.submit(self._send, delivery)
        next_due = [self._heap[0].due] if self._heap else []
        next_due += [d for held in self._held.values() for d, _ in held]
        return max(0.0, min(next_due) - now) if next_due else 0.5

    # -- the sender threads ----------------------------------------------------------------

    def _send(self, delivery: _Delivery) -> None:
        try:
            outcome = self._attempt(delivery)
        except Exception as exc:  # a sender must always free its lane
            logger.exception("sandbox webhook delivery crashed")
            outcome = "failed"
            with self._cv:
                self._record(
                    delivery.event, delivery.target, delivery.attempt, 0, None, "failed", repr(exc)
                )
        settings = self._settings()
        with self._cv:
            self._busy.discard(delivery.target.webhook_id)
            now = time.monotonic()
            if delivery.generation == self._generation:
                if outcome == "delivered":
                    self._counters["delivered"] += 1
                elif outcome == "retry" and delivery.attempt < MAX_ATTEMPTS:
                    self._counters["retried"] += 1
                    wait = RETRY_DELAYS[delivery.attempt - 1] * settings.retry_scale
                    self._schedule(delivery, now + wait)
                else:
                    self._counters["failed"] += 1
                self._release_held(delivery.target.webhook_id, before_seq=delivery.seq, now=now)
            self._cv.notify_all()

    def _attempt(self, delivery: _Delivery) -> str:
        """One attempt (up to REQUESTS_PER_ATTEMPT requests): delivered, retry or failed."""
        http = self._http
        if http is None:
            return "retry"
        delivery.attempt += 1
        event, target = delivery.event, delivery.target
        body = json.dumps(
            {
                "company_id": event.company_id,
                "event_name": event.name,
                "occurred_at": event.occurred_at,
                "payload": event.payload,
                "meta": {
                    "event_id": event.id,
                    "webhook_id": target.webhook_id,
                    "attempt": delivery.attempt,
                },
            }
        ).encode()
        headers = {"Content-Type": "application/json", "User-Agent": "Personio-Webhooks-Sandbox"}
        headers.update(dict(target.headers))
        outcome = "retry"
        for request in range(1, REQUESTS_PER_ATTEMPT + 1):
            status: int | None = None
            error: str | None = None
            started = time.monotonic()
            try:
                response = http.post(target.url, content=body, headers=headers)
                status = response.status_code
            except httpx.HTTPError as exc:
                error = type(exc).__name__
            elapsed = time.monotonic() - started
            if status is not None and elapsed > ACK_TIMEOUT:
                # A 2xx that took longer than 3 s (a slow trickle) is not an acknowledgement.
                error = f"acknowledged after {elapsed:.1f} s"
                outcome = "retry"
            elif status is not None and 200 <= status < 300:
                outcome = "delivered"
            elif status is None or (500 <= status < 600 and status != 501):
                outcome = "retry"
            else:
                outcome = "failed"  # 3xx (not followed), 4xx, 501: Personio does not retry
            with self._cv:
                self._counters["requests"] += 1
                self._record(event, target, delivery.attempt, request, status, outcome, error)
            if outcome != "retry" or self._stopping.is_set():
                break
        return outcome
