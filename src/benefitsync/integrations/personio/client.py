"""The Personio v1 client: the only code in benefitsync that speaks HTTP to Personio.

It works unchanged against https://api.personio.de and against the local sandbox. Its parts,
each a small object with its own module and the Personio rules it follows:

- `auth.py`: `PersonioAuth`, an `httpx.Auth` — cached tokens, one re-authentication on 401, the
  echoed token. Credentials go in the POST body, never the query string (query-string
  credentials are deprecated and answered with 403,
  https://developer.personio.de/changelog/deprecated-query-string-credentials-on-post-v1auth).
  Only the auth endpoint refusing the credentials is an `AuthenticationError`.
- `ratelimit.py`: the shared `RateLimiter` (300/min with bursts of 15/s on the employees
  endpoints, 60/min on auth,
  https://developer.personio.de/changelog/rate-limits-on-get-employees-endpoint-may-6-2024).
- `retries.py`: `RetryPolicy` (tenacity) — 429, 5xx, timeouts, resets and unparsable JSON are
  retried with capped, jittered back-off (≥ 1 s after a 429, pausing all threads) until
  `max_attempts` or the per-call `deadline`; then `RetriableError`. Every HTTP call has a timeout
  no longer than what is left of the deadline.
- `paging.py`: `Listing` — offsets, page threads, the one-record overlap check and restarts.
- `decode.py`: msgspec decodes a page straight into typed attributes (the CPU per record is
  about that of a bare `orjson.loads` of the page, docs/personio.md).
- Partner headers `X-Personio-Partner-ID` / `X-Personio-App-ID` in UPPER_SNAKE_CASE
  (https://developer.personio.de/reference/include-our-headers-in-your-requests).
"""

from __future__ import annotations

import functools
import json
import random
import re
import ssl
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, NoReturn
from urllib.parse import urlencode

import httpx

from .auth import Credentials, PersonioAuth, clear_token_cache
from .decode import DecodedPage, InvalidJSON, decode_object, decode_page
from .errors import (
    AuthenticationError,
    BadRecord,
    FatalError,
    NotFoundError,
    PersonioError,
    RetriableError,
)
from .paging import PAGE_SIZE, Listing
from .ratelimit import RateLimiter
from .retries import RetryPolicy, Transient
from .schemas import PERSONIO_TZ, AttributeInfo, EmployeeRecord, parse_attribute, parse_employee

__all__ = [
    "DEFAULT_BASE_URL",
    "PAGE_SIZE",
    "ClientStats",
    "Credentials",
    "PersonioClient",
    "clear_token_cache",
    "dumps_stats",
]

DEFAULT_BASE_URL = "https://api.personio.de"
_UPPER_SNAKE = re.compile(r"^[A-Z0-9]+(?:_[A-Z0-9]+)*$")


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


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """The process's one TLS context for Personio, as httpx builds it by default (certifi's roots,
    or SSL_CERT_FILE / SSL_CERT_DIR). Building one loads the CA bundle, ~20 ms of CPU, which every
    client paid again: a worker syncing hundreds of companies a day paid it once per sync."""
    return httpx.create_ssl_context()


def _error_message(response: httpx.Response) -> str:
    # Personio's error envelope: {"success": false, "error": {"code": ..., "message": ...}}.
    try:
        payload = decode_object(response.content)
    except InvalidJSON:
        return response.text[:200] or response.reason_phrase
    if isinstance(payload, dict) and isinstance(payload.get("error"), dict):
        return str(payload["error"].get("message") or response.reason_phrase)[:200]
    return response.reason_phrase


class _LabelsOnDemand(Mapping[str, str]):
    """The custom attributes' labels, read from `load` when a record first looks one up."""

    def __init__(self, load: Callable[[], dict[str, str]]) -> None:
        self._load = load
        self._labels: dict[str, str] | None = None

    def _all(self) -> dict[str, str]:
        if self._labels is None:
            self._labels = self._load()
        return self._labels

    def __getitem__(self, key: str) -> str:
        return self._all()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._all())

    def __len__(self) -> int:
        return len(self._all())


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
        self.max_restarts = max_restarts
        self.limiter = limiter or RateLimiter.personio_employees()
        self.auth_limiter = auth_limiter or RateLimiter.personio_auth()
        self.stats = ClientStats()
        self.retries = RetryPolicy(
            self.limiter,
            max_attempts=max_attempts,
            deadline=deadline,
            wait_scale=retry_wait_scale,
            max_backoff=max_backoff,
            sleep=sleep,
            rng=rng or random.Random(),
            on_retry=lambda: self.stats.add("retries"),
        )
        self._attributes: list[AttributeInfo] | None = None
        # Threads reading single employees at once ask for the labels once, not each.
        self._labels_lock = threading.Lock()
        self.auth = PersonioAuth(
            credentials.cache_key(self.base_url),
            self._issue_token,
            limiter=self.limiter,
            resend_wait=timeout,
            on_resend=self._count_refused,
        )
        headers = {"Accept": "application/json", "User-Agent": "benefitsync-personio/1"}
        if partner_id:
            headers["X-Personio-Partner-ID"] = partner_id
        if app_id:
            headers["X-Personio-App-ID"] = app_id
        self._http = httpx.Client(
            base_url=self.base_url,
            headers=headers,
            auth=self.auth,
            timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
            limits=httpx.Limits(max_connections=max_concurrency + 2),
            transport=transport,
            verify=_tls_context(),
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
        self.auth.token(force=True)

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
        guide (limit <= 100, offset counts items; `paging.py`). `updated_since` narrows to
        employees changed after that moment (naive = Personio local time); paging applies to it
        as well
        (https://developer.personio.de/changelog/employee-api-introduction-of-pagination-in-the-updated_since-filter-of-the-get-employees-endpoint).
        Each employee id is yielded at most once; malformed records are yielded as `BadRecord`.
        Memory is bounded by the buffered pages plus one int per employee id (for dedupe).
        `expected_total` (e.g. the last sync's count) lets the first second's burst ask for the
        first pages at once instead of waiting for page 0 to learn the total.
        """
        params: dict[str, Any] = {"limit": PAGE_SIZE}
        if updated_since is not None:
            local = updated_since.astimezone(PERSONIO_TZ) if updated_since.tzinfo else updated_since
            params["updated_since"] = local.strftime("%Y-%m-%dT%H:%M:%S")
        # The labels (attributes endpoint) are fetched beside the first page, not before it:
        # under a 200 ms latency that saves a round trip on every sync. A delta listing is
        # mostly empty: there they are asked for only when a record needs them, so an unchanged
        # delta costs one request.
        with ThreadPoolExecutor(1, thread_name_prefix="personio-attrs") as pool:
            labels: Callable[[], Mapping[str, str]]
            if updated_since is None:
                labels = pool.submit(self._custom_labels).result
            else:
                on_demand = _LabelsOnDemand(self._custom_labels)
                labels = lambda: on_demand  # noqa: E731
            listing = Listing(
                lambda offset: self._fetch_page(offset, params, labels),
                max_concurrency=self.max_concurrency,
                max_restarts=self.max_restarts,
                expected_total=expected_total,
                on_restart=lambda: self.stats.add("restarts"),
                on_bad_record=lambda: self.stats.add("bad_records"),
            )
            yield from listing

    def send(
        self, method: Literal["GET", "POST", "DELETE"], path: str, *, what: str, **kwargs: Any
    ) -> httpx.Response:
        """One request to an endpoint this client does not wrap (the v2 webhooks API,
        `webhooks_api.py`): without the v1 token, paced by the auth limiter, retried on 429,
        5xx and transport errors like every call; the caller reads the status."""

        def attempt(deadline_at: float) -> httpx.Response:
            return self._send(method, path, deadline_at, self.auth_limiter, auth=None, **kwargs)

        response: httpx.Response = self._call(attempt, what)
        return response

    # -- listing -----------------------------------------------------------------------------

    def _custom_labels(self) -> dict[str, str]:
        with self._labels_lock:
            if self._attributes is None:
                self._fetch_labels()
        return {a.key: a.label for a in self._attributes or []}

    def _fetch_labels(self) -> None:
        try:
            self.list_attributes()
        except FatalError:
            # Labels also come inline with every record; the attributes endpoint is only the
            # fallback, so a credential that may not call it still works.
            self._attributes = []

    def _fetch_page(
        self, offset: int, params: dict[str, Any], labels: Callable[[], Mapping[str, str]]
    ) -> DecodedPage:
        """Fetch, decode and parse the page at `offset` (on the fetching thread: `paging.py`)."""
        path = "/v1/company/employees"
        # The whole URL at once: httpx merging a relative path and a params dict into the base
        # URL parses it three times (~0.1 ms a page, ~1 µs per record, measured).
        url = f"{self.base_url}{path}?{urlencode({**params, 'offset': offset})}"

        def attempt(deadline_at: float) -> DecodedPage:
            response = self._authorized_get(url, deadline_at)
            try:
                page = decode_page(response.content, labels())
            except InvalidJSON as exc:
                # Truncated or garbled bodies happen behind proxies; a retry usually succeeds.
                raise Transient("response body is not valid JSON", status=200) from exc
            except ValueError as exc:
                raise FatalError(f"unexpected employees response: {exc}", status=200) from exc
            if page.success is False:
                raise FatalError(f"GET {path}: Personio reported success=false", status=200)
            return page

        page: DecodedPage = self._call(attempt, f"GET {path}")
        return page

    # -- HTTP core ---------------------------------------------------------------------------

    def _call(self, fn: Callable[[float], Any], what: str) -> Any:
        try:
            return self.retries.call(fn, what)
        except PersonioError:
            raise
        except httpx.HTTPError as exc:  # pragma: no cover - every transport error is mapped
            raise RetriableError(f"{what}: {exc}") from exc

    def _count_refused(self, response: httpx.Response) -> None:
        # A 401 answered inside the auth flow, which now sends the request once more.
        self.stats.count_response(response.status_code, len(response.content))
        self.stats.add("requests")

    def _send(
        self,
        method: Literal["GET", "POST", "DELETE"],
        path: str,
        deadline_at: float,
        limiter: RateLimiter,
        **kwargs: Any,
    ) -> httpx.Response:
        remaining = deadline_at - time.monotonic()
        if remaining <= 0 or not limiter.acquire(timeout=remaining):
            raise Transient("deadline reached while waiting for the rate limiter")
        remaining = max(0.001, deadline_at - time.monotonic())
        timeout = httpx.Timeout(min(self.timeout, remaining), connect=min(10.0, remaining))
        self.stats.add("requests")
        try:
            response = self._http.request(method, path, timeout=timeout, **kwargs)
        except httpx.TimeoutException as exc:
            self.stats.count_response("timeout")
            self.stats.add("transport_errors")
            raise Transient(f"timeout ({type(exc).__name__})") from exc
        except httpx.TransportError as exc:
            # Connection refused/reset, or the server closed mid-response.
            self.stats.count_response("transport_error")
            self.stats.add("transport_errors")
            raise Transient(f"connection failed ({type(exc).__name__}: {exc})") from exc
        self.stats.count_response(response.status_code, len(response.content))
        if response.status_code == 429:
            raise Transient("rate limited (429)", status=429)
        if response.status_code >= 500:
            raise Transient(f"server error {response.status_code}", status=response.status_code)
        return response

    def _authorized_get(self, path: str, deadline_at: float) -> httpx.Response:
        """One authenticated GET (the auth flow re-authenticates once on 401); non-200 raises."""
        response = self._send("GET", path, deadline_at, self.limiter)
        if response.status_code == 401:
            # The auth flow already sent it again with a fresh token: the credentials were just
            # accepted, so they are not what is wrong; retried like any transient failure.
            # Wrong or revoked credentials are refused by the auth endpoint itself.
            raise Transient(
                f"Personio refused a freshly issued token: {_error_message(response)}",
                status=401,
            )
        if response.status_code != 200:
            self._fail(response, f"GET {response.request.url.path}")
        return response

    def _get_json(self, path: str) -> dict[str, Any]:
        """GET an authenticated endpoint with retries; its JSON object."""

        def attempt(deadline_at: float) -> dict[str, Any]:
            response = self._authorized_get(path, deadline_at)
            payload = self._json(response)
            if payload.get("success") is False:
                raise FatalError(f"GET {path}: Personio reported success=false", status=200)
            return payload

        result: dict[str, Any] = self._call(attempt, f"GET {path}")
        return result

    @staticmethod
    def _json(response: httpx.Response) -> dict[str, Any]:
        try:
            payload = decode_object(response.content)
        except InvalidJSON as exc:
            # Truncated or garbled bodies happen behind proxies; a retry usually succeeds.
            raise Transient("response body is not valid JSON", status=response.status_code) from exc
        if not isinstance(payload, dict):
            raise FatalError("response is not a JSON object", status=response.status_code)
        return payload

    def _issue_token(self) -> tuple[str, float]:
        """`POST /v1/auth` with retries: (token, lifetime in seconds)."""

        def attempt(deadline_at: float) -> tuple[str, float]:
            self.stats.add("auth_requests")
            response = self._send(
                "POST",
                "/v1/auth",
                deadline_at,
                self.auth_limiter,
                auth=None,
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
            data = self._json(response).get("data")
            token = data.get("token") if isinstance(data, dict) else None
            if not isinstance(token, str) or not token:
                raise FatalError("authentication response without a token", status=200)
            expires_in = data.get("expires_in") if isinstance(data, dict) else None
            lifetime = float(expires_in) if isinstance(expires_in, int | float) else 86400.0
            return token, lifetime

        issued: tuple[str, float] = self._call(attempt, "authentication")
        return issued

    def _fail(self, response: httpx.Response, what: str) -> NoReturn:
        message = f"{what}: HTTP {response.status_code}: {_error_message(response)}"
        if response.status_code == 404:
            raise NotFoundError(message, status=404)
        raise FatalError(message, status=response.status_code)


def dumps_stats(stats: ClientStats) -> str:
    """The stats as compact JSON (for logs and run records)."""
    return json.dumps(stats.as_dict(), sort_keys=True)
