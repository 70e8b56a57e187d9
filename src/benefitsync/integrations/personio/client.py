"""The Personio v1 client: the only code in benefitsync that speaks HTTP to Personio.

It works unchanged against https://api.personio.de and against the local sandbox. What it does
about Personio's behaviour, and why:

- **Auth** (https://developer.personio.de/reference/auth): credentials go in the POST body, never
  the query string (query-string credentials are deprecated and answered with 403,
  https://developer.personio.de/changelog/deprecated-query-string-credentials-on-post-v1auth).
  Tokens are stable `papi-…` tokens valid for 24 h, so they are cached per credential (process
  wide) until shortly before `expires_in` runs out; a 401 re-authenticates once. Only the auth
  endpoint refusing the credentials is an `AuthenticationError` (reconnect needed); a freshly
  issued token refused again is retried like a 5xx. A token echoed in the response's
  `Authorization` header replaces the cached one (Personio's older one-time tokens rotated that
  way).
- **Rate limits**: 300/min with bursts of 15/s on the employees endpoint, 60/min on auth
  (https://developer.personio.de/changelog/rate-limits-on-get-employees-endpoint-may-6-2024). A
  shared client-side `RateLimiter` paces requests so 429s stay the exception; a 429 (which carries
  no Retry-After) is retried after at least 1 s, as Personio asks, jittered, and pauses all
  threads of this client.
- **Retries**: 429, 5xx, timeouts, connection resets and unparsable JSON are retried with capped,
  jittered exponential back-off until `max_attempts` or the per-call `deadline`; then
  `RetriableError`. Every HTTP call has a timeout no longer than the remaining deadline.
- **Paging** (https://developer.personio.de/docs/pagination-adoption-guide-for-v1-get-employees-endpoint):
  `limit` is at most 100 and `offset` counts items. The first page gives `total_elements`; the
  remaining pages are fetched by a few threads (never faster than the limiter allows) and yielded
  in order, with at most `2 * max_concurrency` pages buffered. The thread that fetched a page also
  parses it, so a buffered page holds its parsed records (about 1 kB each), not Personio's raw
  JSON (about 15 kB of Python objects per employee).
- **Data changing mid-listing**: offset paging over a changing list can skip or repeat an
  employee. Pages are requested with a one-record overlap (offsets 0, 99, 198, ...; about 1 %
  more requests), and a pass is accepted only when each page starts with the record the previous
  page ended with, every page reported the same `total_elements`, and the pass saw that many
  distinct records; otherwise the listing restarts from offset 0 (at most
  `max_restarts` times), yielding only ids not yielded before. So no employee is lost or yielded
  twice; an employee that changed between passes is delivered in the version first seen.
- **Partner headers** `X-Personio-Partner-ID` / `X-Personio-App-ID` in UPPER_SNAKE_CASE
  (https://developer.personio.de/reference/include-our-headers-in-your-requests).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import random
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Generator, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, NoReturn

import httpx
from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt, stop_any
from tenacity.stop import stop_base

from .errors import (
    AuthenticationError,
    BadRecord,
    FatalError,
    NotFoundError,
    PersonioError,
    RetriableError,
)
from .ratelimit import RateLimiter
from .schemas import (
    PERSONIO_TZ,
    AttributeInfo,
    EmployeeRecord,
    PageInfo,
    parse_attribute,
    parse_employee,
    parse_page,
)

DEFAULT_BASE_URL = "https://api.personio.de"
PAGE_SIZE = 100  # Personio's maximum `limit` since the pagination enforcement of 2025
_UPPER_SNAKE = re.compile(r"^[A-Z0-9]+(?:_[A-Z0-9]+)*$")
# Re-authenticate this long before Personio's `expires_in` runs out, so a token never expires
# between our check and Personio's.
_TOKEN_SAFETY_SECONDS = 300.0


@dataclass(frozen=True)
class Credentials:
    """A Personio API credential; the secret never appears in repr() or logs."""

    client_id: str
    client_secret: str = field(repr=False)

    def cache_key(self, base_url: str) -> tuple[str, str, str]:
        digest = hashlib.sha256(self.client_secret.encode()).hexdigest()
        return (base_url.rstrip("/"), self.client_id, digest)


@dataclass
class ClientStats:
    """Counters a sync run stores on its record. Thread-safe; read with `as_dict()`."""

    requests: int = 0
    auth_requests: int = 0
    retries: int = 0
    rate_limited: int = 0
    transport_errors: int = 0
    restarts: int = 0
    bad_records: int = 0
    bytes_received: int = 0
    responses: dict[str, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def count_response(self, status: int | str, nbytes: int = 0) -> None:
        with self._lock:
            self.responses[str(status)] = self.responses.get(str(status), 0) + 1
            self.bytes_received += nbytes
            if status == 429:
                self.rate_limited += 1

    def add(self, name: str, n: int = 1) -> None:
        with self._lock:
            setattr(self, name, getattr(self, name) + n)

    def as_dict(self) -> dict[str, Any]:
        with self._lock:
            return {
                "requests": self.requests,
                "auth_requests": self.auth_requests,
                "retries": self.retries,
                "rate_limited": self.rate_limited,
                "transport_errors": self.transport_errors,
                "restarts": self.restarts,
                "bad_records": self.bad_records,
                "bytes_received": self.bytes_received,
                "responses": dict(sorted(self.responses.items())),
            }


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


# After each 429 the limiter's safety margin grows by this much, up to the maximum.
_MARGIN_STEP = 0.05
_MARGIN_MAX = 0.3
_STEP = PAGE_SIZE - 1  # offsets advance by 99 so consecutive pages share one record
# Pages fetched ahead of the consumer, per fetching thread (see `_pages_in_order`).
_WINDOW = 2


def _raw_id(item: object) -> object:
    """The id of a raw list item, or None, for the overlap check (no full parse needed)."""
    try:
        return item["attributes"]["id"]["value"]  # type: ignore[index]
    except (KeyError, TypeError):
        return None


@dataclass(frozen=True, slots=True)
class _Page:
    """One page of the employee list, parsed; of the raw items only what the overlap check
    reads is kept (their count and the raw ids of the first and the last)."""

    total_elements: int | None
    size: int
    first_id: object
    last_id: object
    records: list[EmployeeRecord]

    @property
    def full(self) -> bool:
        return self.size == PAGE_SIZE


class _StopAtDeadline(stop_base):
    """Stop retrying when the next back-off would end past the deadline (no pointless sleep)."""

    def __init__(self, deadline_at: float) -> None:
        self.deadline_at = deadline_at

    def __call__(self, retry_state: RetryCallState) -> bool:
        return time.monotonic() + retry_state.upcoming_sleep >= self.deadline_at


class _Transient(Exception):
    """A failure worth retrying; becomes `RetriableError` when retries run out."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


def _error_message(response: httpx.Response) -> str:
    # Personio's error envelope: {"success": false, "error": {"code": ..., "message": ...}}.
    try:
        payload = response.json()
    except ValueError:
        return response.text[:200] or response.reason_phrase
    if isinstance(payload, dict) and isinstance(payload.get("error"), dict):
        return str(payload["error"].get("message") or response.reason_phrase)[:200]
    return response.reason_phrase


class PersonioClient:
    """A synchronous, thread-safe Personio v1 client. Use as a context manager or call close().

    - `timeout`: seconds for one HTTP read (connect is capped at 10 s); never longer than what
      is left of `deadline`.
    - `deadline`: seconds one logical call (a page, the auth, one employee) may take including
      all its retries.
    - `max_concurrency`: threads fetching pages once the total is known. 15, Personio's burst
      per second: with ~200 ms round trips, fewer threads stretch each one-second window over
      several waves of requests (measured: 5 threads 1.14x the limits' floor, 15 threads 1.10x).
    - `limiter`: paces the employees endpoints (default: Personio's 15/s + 300/min); the auth
      endpoint has its own 60/min limiter. Pass a shared limiter to pace several clients of one
      credential together.
    - `retry_wait_scale`: multiplies every back-off (tests use ~0.01); the first wait after a 429
      is `1 s * retry_wait_scale` at least.
    """

    def __init__(
        self,
        credentials: Credentials,
        *,
        base_url: str = DEFAULT_BASE_URL,
        partner_id: str | None = None,
        app_id: str | None = None,
        timeout: float = 30.0,
        deadline: float = 300.0,
        max_concurrency: int = 15,
        limiter: RateLimiter | None = None,
        auth_limiter: RateLimiter | None = None,
        transport: httpx.BaseTransport | None = None,
        max_attempts: int = 8,
        max_restarts: int = 2,
        retry_wait_scale: float = 1.0,
        max_backoff: float = 30.0,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        for name, value in (("partner_id", partner_id), ("app_id", app_id)):
            if value is not None and not _UPPER_SNAKE.match(value):
                raise ValueError(f"Personio requires {name} in UPPER_SNAKE_CASE, got {value!r}")
        if max_concurrency < 1 or max_attempts < 1 or timeout <= 0 or deadline <= 0:
            raise ValueError("max_concurrency/max_attempts must be >= 1, timeouts > 0")
        self.credentials = credentials
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.deadline = deadline
        self.max_concurrency = max_concurrency
        self.max_attempts = max_attempts
        self.max_restarts = max_restarts
        self.retry_wait_scale = retry_wait_scale
        self.max_backoff = max_backoff
        self.limiter = limiter or RateLimiter.personio_employees()
        self.auth_limiter = auth_limiter or RateLimiter.personio_auth()
        self.stats = ClientStats()
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._rng_lock = threading.Lock()
        self._attributes: list[AttributeInfo] | None = None
        headers = {"Accept": "application/json", "User-Agent": "benefitsync-personio/1"}
        if partner_id:
            headers["X-Personio-Partner-ID"] = partner_id
        if app_id:
            headers["X-Personio-App-ID"] = app_id
        self._http = httpx.Client(
            base_url=self.base_url,
            headers=headers,
            timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
            limits=httpx.Limits(max_connections=max_concurrency + 2),
            transport=transport,
            follow_redirects=False,
        )

    # -- lifecycle ---------------------------------------------------------------------------

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> PersonioClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- public endpoints -------------------------------------------------------------------

    def authenticate(self) -> None:
        """Check the credentials now with a fresh `POST /v1/auth` (the "Connect" button).

        Follows https://developer.personio.de/reference/auth. Raises `AuthenticationError` for
        wrong or revoked credentials, `RetriableError` when Personio could not be reached.
        """
        self._authenticate(force=True)

    def list_attributes(self) -> list[AttributeInfo]:
        """`GET /v1/company/employees/attributes`: the attributes this credential may read.

        Follows https://developer.personio.de/reference/get_company-employees-attributes (the
        "Select attributes" whitelist of the credential, custom ones with labels and options).
        """
        payload = self._get_json("/v1/company/employees/attributes")
        data = payload.get("data")
        if not isinstance(data, list):
            raise FatalError("attributes response without a data list")
        parsed = [parse_attribute(item) for item in data]
        self._attributes = [a for a in parsed if a is not None]
        return list(self._attributes)

    def get_employee(self, personio_id: int) -> EmployeeRecord:
        """`GET /v1/company/employees/{id}`: one employee; `NotFoundError` when it does not exist.

        Follows https://developer.personio.de/reference/get_company-employees-employee-id.
        """
        payload = self._get_json(f"/v1/company/employees/{int(personio_id)}")
        record = parse_employee(payload.get("data"), self._custom_labels())
        if isinstance(record, BadRecord):
            self.stats.add("bad_records")
        return record

    def iter_employees(
        self, *, updated_since: datetime | None = None, expected_total: int | None = None
    ) -> Iterator[EmployeeRecord]:
        """`GET /v1/company/employees`, all pages, as a stream of records in Personio's order.

        Follows https://developer.personio.de/reference/get_company-employees and the pagination
        guide (limit <= 100, offset counts items). `updated_since` narrows to employees changed
        after that moment (naive = Personio local time); paging applies to it as well
        (https://developer.personio.de/changelog/employee-api-introduction-of-pagination-in-the-updated_since-filter-of-the-get-employees-endpoint).
        Each employee id is yielded at most once; malformed records are yielded as `BadRecord`.
        Memory is bounded by the buffered pages plus one int per employee id (for dedupe).
        `expected_total` (e.g. the last sync's count) lets the first second's burst ask for the
        first pages at once instead of waiting for page 0 to learn the total; a wrong guess
        costs only a few empty pages.
        """
        params: dict[str, str] = {}
        if updated_since is not None:
            local = updated_since.astimezone(PERSONIO_TZ) if updated_since.tzinfo else updated_since
            params["updated_since"] = local.strftime("%Y-%m-%dT%H:%M:%S")
        # The labels (attributes endpoint) are fetched beside the first page, not before it:
        # under a 200 ms latency that saves a round trip on every sync.
        with ThreadPoolExecutor(1, thread_name_prefix="personio-attrs") as pool:
            labels_future = pool.submit(self._custom_labels)
            yielded: set[int] = set()
            for _ in range(self.max_restarts + 1):
                consistent = yield from self._listing_pass(
                    params, labels_future, yielded, expected_total
                )
                if consistent:
                    return
                self.stats.add("restarts")
        raise RetriableError(
            f"the employee list kept changing while it was read ({self.max_restarts} restarts)"
        )

    # -- listing -----------------------------------------------------------------------------

    def _custom_labels(self) -> dict[str, str]:
        if self._attributes is None:
            try:
                self.list_attributes()
            except FatalError:
                # Labels also come inline with every record; the attributes endpoint is only
                # the fallback, so a credential that may not call it still works.
                self._attributes = []
        return {a.key: a.label for a in self._attributes or []}

    def _fetch_page(self, offset: int, params: dict[str, str]) -> PageInfo:
        payload = self._get_json(
            "/v1/company/employees", params={**params, "limit": PAGE_SIZE, "offset": offset}
        )
        try:
            return parse_page(payload)
        except ValueError as exc:
            raise FatalError(f"unexpected employees response: {exc}") from exc

    def _fetch_records(
        self, offset: int, params: dict[str, str], labels_future: Future[dict[str, str]]
    ) -> _Page:
        """Fetch the page at `offset` and parse it (on the fetching thread: see `_Page`)."""
        page = self._fetch_page(offset, params)
        labels = labels_future.result()
        items = page.items
        return _Page(
            total_elements=page.total_elements,
            size=len(items),
            first_id=_raw_id(items[0]) if items else None,
            last_id=_raw_id(items[-1]) if items else None,
            records=[parse_employee(raw, labels) for raw in items],
        )

    def _records(
        self, page: _Page, yielded: set[int], pass_ids: set[int]
    ) -> Iterator[EmployeeRecord]:
        for record in page.records:
            pid = record.personio_id if isinstance(record, BadRecord) else record.id
            if pid is None:
                pass_ids.add(-len(pass_ids) - 1)  # count id-less bad records towards the total
            else:
                pass_ids.add(pid)
                if pid in yielded:
                    continue
                yielded.add(pid)
            if isinstance(record, BadRecord):
                self.stats.add("bad_records")
            yield record

    def _listing_pass(
        self,
        params: dict[str, str],
        labels_future: Future[dict[str, str]],
        yielded: set[int],
        expected_total: int | None = None,
    ) -> Generator[EmployeeRecord, None, bool]:
        """One pass over all pages; returns whether the pass was consistent (see module doc)."""
        pass_ids: set[int] = set()
        early: list[_Page] = []
        # With a hint, the first window (one slot is the attributes call's) asks for several
        # pages at once; the total from page 0 then decides what else is needed.
        guessed = min(self.max_concurrency - 1, -(-(expected_total or 0) // _STEP))
        if guessed > 1:
            first, *early = self._pages_in_order(
                [i * _STEP for i in range(guessed)], params, labels_future
            )
        else:
            first = self._fetch_records(0, params, labels_future)
        yield from self._records(first, yielded, pass_ids)
        total = first.total_elements
        if total is None:
            # No metadata: fall back to sequential paging until a short page.
            offset, page = 0, first
            while page.size >= PAGE_SIZE:
                offset += PAGE_SIZE
                page = self._fetch_records(offset, params, labels_future)
                yield from self._records(page, yielded, pass_ids)
            return True
        # Pages overlap by one record (offsets 0, 99, 198, ...): page k must start with the
        # record page k-1 ended with, which detects any insert/delete that shifted the list
        # between the two fetches, even when the total stayed the same.
        changed = False
        prev_last = first.last_id if first.full else None
        offsets = [o for o in range(_STEP, max(_STEP, total - 1), _STEP) if o > len(early) * _STEP]
        pages = self._pages_in_order(offsets, params, labels_future)
        for page in itertools.chain(early, pages):
            if page.total_elements != total:
                changed = True
            if prev_last is not None and (not page.size or page.first_id != prev_last):
                changed = True
            prev_last = page.last_id if page.full else None
            yield from self._records(page, yielded, pass_ids)
        return not changed and len(pass_ids) >= total

    def _pages_in_order(
        self,
        offsets: Iterable[int],
        params: dict[str, str],
        labels_future: Future[dict[str, str]],
    ) -> Iterator[_Page]:
        """Fetch and parse pages on up to `max_concurrency` threads; yield them in offset order.

        At most `_WINDOW * max_concurrency` pages are fetched ahead of the consumer: enough that
        the threads keep fetching while one slow page (a retry, a 429 pause) holds up the order.
        """
        todo = iter(offsets)
        if self.max_concurrency == 1:
            for offset in todo:
                yield self._fetch_records(offset, params, labels_future)
            return
        window = _WINDOW * self.max_concurrency
        pool = ThreadPoolExecutor(self.max_concurrency, thread_name_prefix="personio-page")
        pending: deque[Future[_Page]] = deque()

        def submit(offset: int) -> None:
            pending.append(pool.submit(self._fetch_records, offset, params, labels_future))

        try:
            for offset in todo:
                submit(offset)
                if len(pending) >= window:
                    break
            while pending:
                page = pending.popleft().result()
                nxt = next(todo, None)
                if nxt is not None:
                    submit(nxt)
                yield page
        finally:
            for fut in pending:
                fut.cancel()
            pool.shutdown(wait=True, cancel_futures=True)

    # -- HTTP core ---------------------------------------------------------------------------

    def _jitter(self, low: float, high: float) -> float:
        with self._rng_lock:
            return self._rng.uniform(low, high)

    def _backoff(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        n = state.attempt_number
        base = min(self.max_backoff, 0.5 * 2 ** (n - 1))
        if isinstance(exc, _Transient) and exc.status == 429:
            # Personio: retry a 429 "with a delay of at least 1 second"; jitter spreads threads.
            wait = max(1.0, base) * self._jitter(1.0, 1.5) * self.retry_wait_scale
            self.limiter.pause(wait)
            self.limiter.widen(_MARGIN_STEP, _MARGIN_MAX)
            return float(wait)
        return float(base * self._jitter(0.5, 1.0) * self.retry_wait_scale)

    def _retrying(self, deadline_at: float) -> Retrying:
        def before_sleep(state: RetryCallState) -> None:
            self.stats.add("retries")

        return Retrying(
            retry=retry_if_exception_type(_Transient),
            stop=stop_any(stop_after_attempt(self.max_attempts), _StopAtDeadline(deadline_at)),
            wait=self._backoff,
            sleep=self._sleep,
            before_sleep=before_sleep,
            reraise=True,
        )

    def _call_with_retries(self, fn: Callable[[float], Any], what: str) -> Any:
        deadline_at = time.monotonic() + self.deadline
        try:
            return self._retrying(deadline_at)(fn, deadline_at)
        except _Transient as exc:
            raise RetriableError(f"{what}: {exc}", status=exc.status) from exc

    def _send(
        self,
        method: Literal["GET", "POST"],
        path: str,
        deadline_at: float,
        limiter: RateLimiter,
        **kwargs: Any,
    ) -> httpx.Response:
        remaining = deadline_at - time.monotonic()
        if remaining <= 0 or not limiter.acquire(timeout=remaining):
            raise _Transient("deadline reached while waiting for the rate limiter")
        remaining = max(0.001, deadline_at - time.monotonic())
        timeout = httpx.Timeout(min(self.timeout, remaining), connect=min(10.0, remaining))
        self.stats.add("requests")
        try:
            response = self._http.request(method, path, timeout=timeout, **kwargs)
        except httpx.TimeoutException as exc:
            self.stats.count_response("timeout")
            self.stats.add("transport_errors")
            raise _Transient(f"timeout ({type(exc).__name__})") from exc
        except httpx.TransportError as exc:
            # Connection refused/reset, or the server closed mid-response.
            self.stats.count_response("transport_error")
            self.stats.add("transport_errors")
            raise _Transient(f"connection failed ({type(exc).__name__}: {exc})") from exc
        self.stats.count_response(response.status_code, len(response.content))
        if response.status_code == 429:
            raise _Transient("rate limited (429)", status=429)
        if response.status_code >= 500:
            raise _Transient(f"server error {response.status_code}", status=response.status_code)
        return response

    @staticmethod
    def _json(response: httpx.Response) -> dict[str, Any]:
        try:
            payload = response.json()
        except (ValueError, UnicodeDecodeError) as exc:
            # Truncated or garbled bodies happen behind proxies; a retry usually succeeds.
            raise _Transient(
                "response body is not valid JSON", status=response.status_code
            ) from exc
        if not isinstance(payload, dict):
            raise FatalError("response is not a JSON object", status=response.status_code)
        return payload

    def _authenticate(self, *, force: bool = False, stale: str | None = None) -> str:
        """Return a valid token, authenticating when none is cached (or `force`/`stale`)."""
        key = self.credentials.cache_key(self.base_url)
        with _TOKENS_LOCK:
            auth_lock = _AUTH_LOCKS.setdefault(key, threading.Lock())
        with auth_lock:
            return self._authenticate_locked(key, force=force, stale=stale)

    def _authenticate_locked(
        self, key: tuple[str, str, str], *, force: bool, stale: str | None
    ) -> str:
        with _TOKENS_LOCK:
            cached = _TOKENS.get(key)
            if cached and stale is not None and cached.value == stale:
                del _TOKENS[key]
                cached = None
            if cached and not force and cached.expires_at > time.monotonic():
                return cached.value

        def attempt(deadline_at: float) -> str:
            self.stats.add("auth_requests")
            response = self._send(
                "POST",
                "/v1/auth",
                deadline_at,
                self.auth_limiter,
                json={
                    "client_id": self.credentials.client_id,
                    "client_secret": self.credentials.client_secret,
                },
            )
            if response.status_code in (400, 401, 403):
                raise AuthenticationError(
                    f"Personio rejected the credentials: {_error_message(response)}",
                    status=response.status_code,
                )
            if response.status_code != 200:
                self._fail(response, "authentication")
            payload = self._json(response)
            data = payload.get("data")
            token = data.get("token") if isinstance(data, dict) else None
            if not isinstance(token, str) or not token:
                raise FatalError("authentication response without a token", status=200)
            expires_in = data.get("expires_in") if isinstance(data, dict) else None
            lifetime = float(expires_in) if isinstance(expires_in, int | float) else 86400.0
            with _TOKENS_LOCK:
                _TOKENS[key] = _Token(
                    token, time.monotonic() + max(0.0, lifetime - _TOKEN_SAFETY_SECONDS)
                )
            return token

        token: str = self._call_with_retries(attempt, "authentication")
        return token

    def _remember_echoed_token(self, response: httpx.Response, used: str) -> None:
        echoed = response.headers.get("authorization", "")
        if echoed.lower().startswith("bearer "):
            value = echoed[7:].strip()
            if value and value != used:
                key = self.credentials.cache_key(self.base_url)
                with _TOKENS_LOCK:
                    current = _TOKENS.get(key)
                    if current and current.value == used:
                        current.value = value

    def _fail(self, response: httpx.Response, what: str) -> NoReturn:
        message = f"{what}: HTTP {response.status_code}: {_error_message(response)}"
        if response.status_code == 404:
            raise NotFoundError(message, status=404)
        raise FatalError(message, status=response.status_code)

    def _get_json(self, path: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        """GET an authenticated endpoint with retries; re-authenticate once on 401."""

        def attempt(deadline_at: float) -> dict[str, Any]:
            token = self._authenticate()
            response = self._send(
                "GET",
                path,
                deadline_at,
                self.limiter,
                params=params,
                headers={"Authorization": f"Bearer {token}"},
            )
            if response.status_code == 401:
                # The token expired or was revoked: one fresh token, then give up.
                token = self._authenticate(stale=token)
                response = self._send(
                    "GET",
                    path,
                    deadline_at,
                    self.limiter,
                    params=params,
                    headers={"Authorization": f"Bearer {token}"},
                )
                if response.status_code == 401:
                    # The credentials were just accepted (the token is new), so they are not
                    # what is wrong: retried like any transient failure. Wrong or revoked
                    # credentials are refused by the auth endpoint itself (AuthenticationError).
                    raise _Transient(
                        f"Personio refused a freshly issued token: {_error_message(response)}",
                        status=401,
                    )
            if response.status_code != 200:
                self._fail(response, f"GET {path}")
            payload = self._json(response)
            self._remember_echoed_token(response, token)
            if payload.get("success") is False:
                raise FatalError(f"GET {path}: Personio reported success=false", status=200)
            return payload

        try:
            result: dict[str, Any] = self._call_with_retries(attempt, f"GET {path}")
        except PersonioError:
            raise
        except httpx.HTTPError as exc:  # pragma: no cover - every transport error is mapped above
            raise RetriableError(f"GET {path}: {exc}") from exc
        return result


def dumps_stats(stats: ClientStats) -> str:
    """The stats as compact JSON (for logs and run records)."""
    return json.dumps(stats.as_dict(), sort_keys=True)
