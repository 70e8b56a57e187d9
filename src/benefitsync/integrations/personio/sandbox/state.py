"""The sandbox's in-memory state: employees, credentials and tokens, clock, faults, limits, stats.

All public methods take one lock, so the state may be driven from the server's event loop and,
at the same time, from a test thread through the handle `running_sandbox()` returns.
"""

from __future__ import annotations

import hashlib
import random
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

from ..ratelimit import PERSONIO_AUTH_WINDOWS, PERSONIO_EMPLOYEES_WINDOWS, RateLimiter
from ..schemas import PERSONIO_TZ
from .data import (
    ALL_ATTRIBUTES,
    BY_KEY,
    BY_LABEL,
    CUSTOM,
    AttributeDef,
    SandboxEmployee,
    generate_employees,
    object_id,
)
from .webhooks import (
    WEBHOOK_FAULT_KINDS,
    DeliverySettings,
    Event,
    Webhook,
    WebhookDispatcher,
    WebhookInvalid,
    build_webhook,
)

DEFAULT_CLIENT_ID = "sandbox-client-id"
DEFAULT_CLIENT_SECRET = "sandbox-client-secret"  # noqa: S105 - a published demo credential
TOKEN_LIFETIME = 24 * 3600  # Personio's stable tokens last 24 h

# The value a malformed record carries (see `FaultConfig.malformed_share`).
MALFORMED_DATE = "31.02.2020"
FAULT_KINDS = ("429", "500", "502", "503", "504", "timeout", "reset", "truncated", "revoke_token")
FAULT_GROUPS = ("employees", "auth", "v2")

#: v2 scopes a sandbox credential can hold (a new credential holds all unless told otherwise).
SCOPES = (
    "personio:persons:read",
    "personio:employments:read",
    "personio:webhooks:read",
    "personio:webhooks:write",
)
WEBHOOKS_WRITE = "personio:webhooks:write"
WEBHOOKS_READ = "personio:webhooks:read"

# Personio: person.updated fires for these and for every custom attribute; the rest of what the
# sandbox stores belongs to the employment (employment.updated).
PERSON_KEYS = frozenset({"first_name", "last_name", "preferred_name", "email", "gender"})


class ControlError(ValueError):
    """A control-API request the sandbox refuses (HTTP 400 with this message)."""


@dataclass
class FaultConfig:
    """What goes wrong, and how often (rates are probabilities per request, 0..1).

    `script` lists faults for the next requests in order (then the rates apply again), which
    makes a test's fault sequence exact; `endpoints` says which groups faults apply to
    ("employees": every `/v1/company/employees*` endpoint, "auth": `/v1/auth`, "v2": every `/v2`
    endpoint). Latency applies to every `/v1` and `/v2` request: `latency_ms` plus a uniform
    random 0..`latency_jitter_ms`.

    `webhook_*` shape webhook deliveries (per event and webhook): `webhook_rate_drop`,
    `…_duplicate`, `…_delay` (first attempt `webhook_delay_ms` late), `…_reorder` (held until a
    later delivery to the same webhook went out, at most `webhook_delay_ms`); `webhook_script`
    like `script`; `webhook_retry_scale` multiplies the retry delays (1 = Personio's days);
    changes of `webhook_silent_attributes` (keys or custom labels) announce no event.

    `malformed_share` (0..1, default 0: the generated data has no malformed record) is the share
    of employees the v1 endpoints serve with a malformed record: an impossible hire date
    (`"31.02.2020"`), which the client reports as a `BadRecord` and the sync skips. Which
    employees is fixed by their id and the seed, so every page and every sync agree.
    """

    rate_429: float = 0.0
    rate_500: float = 0.0
    rate_502: float = 0.0
    rate_503: float = 0.0
    rate_504: float = 0.0
    rate_timeout: float = 0.0
    rate_reset: float = 0.0
    rate_truncated: float = 0.0
    rate_revoke_token: float = 0.0
    latency_ms: float = 0.0
    latency_jitter_ms: float = 0.0
    hang_seconds: float = 30.0
    malformed_share: float = 0.0
    seed: int = 0
    endpoints: list[str] = field(default_factory=lambda: ["employees"])
    script: list[str] = field(default_factory=list)
    webhook_rate_drop: float = 0.0
    webhook_rate_duplicate: float = 0.0
    webhook_rate_delay: float = 0.0
    webhook_rate_reorder: float = 0.0
    webhook_delay_ms: float = 2000.0
    webhook_retry_scale: float = 1.0
    webhook_script: list[str] = field(default_factory=list)
    # Integrators report no event when a job title or a work schedule changes.
    webhook_silent_attributes: list[str] = field(
        default_factory=lambda: ["position", "weekly_working_hours"]
    )

    @classmethod
    def from_json(cls, data: Mapping[str, Any], base: FaultConfig | None = None) -> FaultConfig:
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ControlError(f"unknown fault settings: {sorted(unknown)}; known: {sorted(known)}")
        merged = {**(asdict(base) if base else {}), **data}
        try:
            config = cls(**merged)
            for f in fields(cls):
                value = getattr(config, f.name)
                rate = f.name.startswith(("rate_", "webhook_rate_")) or f.name == "malformed_share"
                if rate and not 0.0 <= float(value) <= 1.0:
                    raise ControlError(f"{f.name} must be between 0 and 1")
                if (
                    f.name
                    in (
                        "latency_ms",
                        "latency_jitter_ms",
                        "hang_seconds",
                        "webhook_delay_ms",
                        "webhook_retry_scale",
                    )
                    and float(value) < 0
                ):
                    raise ControlError(f"{f.name} must be >= 0")
            if any(e not in FAULT_GROUPS for e in config.endpoints):
                raise ControlError(f"endpoints must be among {FAULT_GROUPS}")
            if any(s not in (*FAULT_KINDS, "ok") for s in config.script):
                raise ControlError(f"script items must be among {(*FAULT_KINDS, 'ok')}")
            if any(s not in (*WEBHOOK_FAULT_KINDS, "ok") for s in config.webhook_script):
                raise ControlError(
                    f"webhook_script items must be among {(*WEBHOOK_FAULT_KINDS, 'ok')}"
                )
            config.webhook_silent_attributes = [
                _attribute_key(name) for name in config.webhook_silent_attributes
            ]
        except (TypeError, ValueError) as exc:
            raise ControlError(str(exc)) from exc
        return config

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _attribute_key(name: object) -> str:
    adef = BY_KEY.get(name) if isinstance(name, str) else None
    adef = adef or (BY_LABEL.get(name) if isinstance(name, str) else None)
    if adef is None:
        raise ControlError(f"unknown attribute {name!r}")
    return adef.key


@dataclass
class Credential:
    """A sandbox API credential with its attribute whitelist (None = every attribute) and its
    v2 scopes."""

    client_id: str
    client_secret: str
    attributes: frozenset[str] | None = None
    token: str | None = None
    token_expires_at: float = 0.0
    generation: int = 0
    scopes: frozenset[str] = frozenset(SCOPES)


@dataclass(frozen=True)
class AccessToken:
    """A v2 access token (`POST /v2/auth/token`): each request issues a new one."""

    client_id: str
    scopes: frozenset[str]
    expires_at: float


class TokenRefused(ValueError):
    """`POST /v2/auth/token` refused: `error` is the OAuth 2.0 error code Personio answers."""

    def __init__(self, error: str, description: str) -> None:
        super().__init__(description)
        self.error = error
        self.description = description


@dataclass(frozen=True)
class _StartConfig:
    employees: int
    seed: int
    today: date | None
    rate_limit: bool
    faults: FaultConfig


class SandboxClock:
    """ "Today" for the sandbox: the real date in Europe/Berlin unless a date is set."""

    def __init__(self, today: date | None = None, wall: Callable[[], float] = time.time) -> None:
        self.fixed_today = today
        self._wall = wall

    def now(self) -> datetime:
        real = datetime.fromtimestamp(self._wall(), PERSONIO_TZ).replace(microsecond=0)
        if self.fixed_today is None:
            return real
        return datetime.combine(self.fixed_today, real.timetz())

    def today(self) -> date:
        return self.fixed_today or self.now().date()


def personio_date(d: date) -> str:
    """A standard date as Personio v1 renders it: midnight with the Berlin offset of that day."""
    offset = datetime(d.year, d.month, d.day, tzinfo=PERSONIO_TZ).strftime("%z")
    return f"{d.isoformat()}T00:00:00{offset[:3]}:{offset[3:]}"


def personio_timestamp(dt: datetime) -> str:
    return dt.astimezone(PERSONIO_TZ).isoformat(timespec="seconds")


def parse_flat_date(key: str, value: object) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            return date.fromisoformat(value[:10])
        except ValueError:
            pass
    raise ControlError(f"{key}: expected YYYY-MM-DD or null, got {value!r}")


class SandboxState:
    """Everything the sandbox knows. Deterministic for a given seed and today."""

    def __init__(
        self,
        *,
        employees: int = 100,
        seed: int = 0,
        today: date | None = None,
        rate_limit: bool = True,
        faults: FaultConfig | None = None,
        client_id: str = DEFAULT_CLIENT_ID,
        client_secret: str = DEFAULT_CLIENT_SECRET,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.lock = threading.RLock()
        self.stopping = threading.Event()
        self._wall = wall
        self.default_client_id = client_id
        self.default_client_secret = client_secret
        self.start_config = _StartConfig(
            employees, seed, today, rate_limit, faults or FaultConfig()
        )
        self.clock = SandboxClock(today, wall)
        self.rate_limit = rate_limit
        self.faults = FaultConfig()
        self._fault_rng = random.Random(0)
        self._webhook_rng = random.Random(0)
        self.credentials: dict[str, Credential] = {}
        self._tokens: dict[str, str] = {}
        self._access_tokens: dict[str, AccessToken] = {}
        self.webhooks: dict[str, Webhook] = {}
        self._events_today: date | None = None
        # Started by the server (`running_sandbox`, the CLI); a state without a server only
        # queues (up to its bound) and never sends.
        self.dispatcher = WebhookDispatcher(
            draw_fault=self.draw_webhook_fault,
            settings=self.delivery_settings,
            on_tick=self.check_clock,
        )
        self._limiters: dict[tuple[str, str], RateLimiter] = {}
        self.employees: dict[int, SandboxEmployee] = {}
        self._order: list[int] = []
        self.seed = seed
        self._cred_counter = 0
        self._stats: dict[str, Any] = {}
        self.reset(employees=employees, seed=seed)

    # -- lifecycle -------------------------------------------------------------------------

    def reset(self, *, employees: int | None = None, seed: int | None = None) -> None:
        """Back to the start configuration (with new `employees`/`seed` when given): fresh
        employees, only the default credential, start faults, start clock, zeroed stats."""
        with self.lock:
            start = self.start_config
            count = start.employees if employees is None else employees
            self.seed = start.seed if seed is None else seed
            if count < 0 or count > 1_000_000:
                raise ControlError("employees must be between 0 and 1,000,000")
            self.clock.fixed_today = start.today
            self.rate_limit = start.rate_limit
            self.set_faults(start.faults)
            generated = generate_employees(count, self.seed, self.clock.today())
            self.employees = {e.id: e for e in generated}
            self._order = [e.id for e in generated]
            old_default = self.credentials.get(self.default_client_id)
            self.credentials = {}
            self._tokens = {}
            self._cred_counter = 0
            cred = Credential(self.default_client_id, self.default_client_secret)
            if old_default and old_default.token:
                # Keep the default token stable across resets, as Personio keeps it for 24 h.
                cred.token, cred.token_expires_at = old_default.token, old_default.token_expires_at
                cred.generation = old_default.generation
                self._tokens[cred.token] = cred.client_id
            self.credentials[cred.client_id] = cred
            self._limiters = {}
            # The default credential's v2 tokens survive, like its v1 token.
            self._access_tokens = {
                t: a for t, a in self._access_tokens.items() if a.client_id == cred.client_id
            }
            self.webhooks = {}
            self.dispatcher.clear()
            self._events_today = self.clock.today()
            self.reset_stats()

    @property
    def company_id(self) -> str:
        """The sandbox company's id in webhook deliveries (Personio sends it as a string)."""
        return str(41_000 + self.seed)

    # -- clock -----------------------------------------------------------------------------

    def set_today(self, today: date | None) -> None:
        with self.lock:
            self.clock.fixed_today = today
            self.check_clock()

    def check_clock(self) -> None:
        """Announce `employment.started` / `employment.terminated` for hire and termination
        dates the sandbox's today has reached since the last check (Personio fires them on the
        effective date, not when the date is entered). Moving the clock back announces nothing."""
        with self.lock:
            today, last = self.clock.today(), self._events_today
            self._events_today = today
            if last is None or today <= last or not self._subscribers_exist():
                return
            for emp in self.employees.values():
                for key, name in (
                    ("hire_date", "employment.started"),
                    ("termination_date", "employment.terminated"),
                ):
                    when: date | None = emp.values.get(key)
                    if when is not None and last < when <= today:
                        self._emit(name, emp.id)

    # -- faults ----------------------------------------------------------------------------

    def set_faults(self, config: FaultConfig) -> None:
        with self.lock:
            # A copy: the script is consumed as requests arrive, the start config must survive.
            self.faults = replace(
                config, script=list(config.script), endpoints=list(config.endpoints)
            )
            self._fault_rng = random.Random(config.seed)
            # Its own stream, so webhook faults never shift which v1 request gets which fault.
            self._webhook_rng = random.Random(f"webhooks:{config.seed}")
            self.faults.webhook_script = list(config.webhook_script)
            self.faults.webhook_silent_attributes = list(config.webhook_silent_attributes)

    def draw_fault(self, group: str) -> str | None:
        """The fault for this request (or None), from the script first, then the rates."""
        with self.lock:
            f = self.faults
            if group not in f.endpoints:
                return None
            if f.script:
                kind = f.script.pop(0)
                return None if kind == "ok" else kind
            r = self._fault_rng.random()
            for kind in FAULT_KINDS:
                rate = float(getattr(f, f"rate_{kind}"))
                if r < rate:
                    return kind
                r -= rate
            return None

    def draw_webhook_fault(self) -> str | None:
        """The fault for the next webhook delivery (or None): script first, then the rates."""
        with self.lock:
            f = self.faults
            if f.webhook_script:
                kind = f.webhook_script.pop(0)
                return None if kind == "ok" else kind
            r = self._webhook_rng.random()
            for kind in WEBHOOK_FAULT_KINDS:
                rate = float(getattr(f, f"webhook_rate_{kind}"))
                if r < rate:
                    return kind
                r -= rate
            return None

    def delivery_settings(self) -> DeliverySettings:
        with self.lock:
            return DeliverySettings(
                retry_scale=float(self.faults.webhook_retry_scale),
                delay_seconds=float(self.faults.webhook_delay_ms) / 1000.0,
            )

    def latency(self) -> float:
        with self.lock:
            f = self.faults
            jitter = self._fault_rng.uniform(0, f.latency_jitter_ms) if f.latency_jitter_ms else 0
            return (f.latency_ms + jitter) / 1000.0

    # -- rate limits -----------------------------------------------------------------------

    def allow(self, group: str, client_id: str) -> bool:
        """Count one request against Personio's limits for this credential; False = 429."""
        with self.lock:
            if not self.rate_limit:
                return True
            key = (group, client_id)
            limiter = self._limiters.get(key)
            if limiter is None:
                windows = PERSONIO_AUTH_WINDOWS if group == "auth" else PERSONIO_EMPLOYEES_WINDOWS
                limiter = self._limiters[key] = RateLimiter(windows)
            return limiter.try_acquire()

    # -- stats -----------------------------------------------------------------------------

    def reset_stats(self) -> None:
        with self.lock:
            self._stats = {"requests": 0, "by_endpoint": {}, "faults": {}, "rate_limited": 0}
            self.dispatcher.reset_stats()

    def count(self, endpoint: str, status: int | str) -> None:
        with self.lock:
            self._stats["requests"] += 1
            per = self._stats["by_endpoint"].setdefault(endpoint, {})
            per[str(status)] = per.get(str(status), 0) + 1
            if status == 429:
                self._stats["rate_limited"] += 1

    def count_fault(self, kind: str) -> None:
        with self.lock:
            self._stats["faults"][kind] = self._stats["faults"].get(kind, 0) + 1

    def stats(self) -> dict[str, Any]:
        with self.lock:
            return {
                "requests": self._stats["requests"],
                "rate_limited": self._stats["rate_limited"],
                "by_endpoint": {k: dict(v) for k, v in self._stats["by_endpoint"].items()},
                "faults": dict(self._stats["faults"]),
                "webhooks": self.dispatcher.stats(),
            }

    # -- credentials and tokens ------------------------------------------------------------

    def create_credential(
        self, attributes: Iterable[str] | None, scopes: Iterable[str] | None = None
    ) -> Credential:
        """A new credential; `attributes` are v1 keys or custom labels (None = all), `scopes`
        its v2 scopes (None = all of SCOPES)."""
        with self.lock:
            allowed: frozenset[str] | None = None
            if attributes is not None:
                allowed = frozenset({_attribute_key(name) for name in attributes} | {"id"})
            granted = frozenset(SCOPES)
            if scopes is not None:
                granted = frozenset(scopes)
                unknown = sorted(granted - set(SCOPES))
                if unknown:
                    raise ControlError(f"unknown scopes {unknown}; known: {list(SCOPES)}")
            self._cred_counter += 1
            digest = hashlib.sha256(f"{self.seed}:{self._cred_counter}".encode()).hexdigest()
            cred = Credential(
                f"papi-client-{digest[:12]}", f"secret-{digest[12:44]}", allowed, scopes=granted
            )
            self.credentials[cred.client_id] = cred
            return cred

    def delete_credential(self, client_id: str) -> bool:
        with self.lock:
            cred = self.credentials.pop(client_id, None)
            if cred and cred.token:
                self._tokens.pop(cred.token, None)
            self._revoke_access_tokens(client_id)
            return cred is not None

    def issue_token(self, client_id: str, client_secret: str) -> tuple[str, int] | None:
        """The credential's stable token and its remaining seconds; None for bad credentials."""
        with self.lock:
            cred = self.credentials.get(client_id)
            if cred is None or cred.client_secret != client_secret:
                return None
            wall = self._wall()
            if cred.token is None or cred.token_expires_at <= wall:
                if cred.token:
                    self._tokens.pop(cred.token, None)
                cred.generation += 1
                raw = f"{self.seed}:{client_id}:{cred.generation}:{wall}".encode()
                cred.token = "papi-" + hashlib.sha256(raw).hexdigest()
                cred.token_expires_at = wall + TOKEN_LIFETIME
                self._tokens[cred.token] = client_id
            return cred.token, int(cred.token_expires_at - wall)

    def credential_for_token(self, token: str) -> Credential | None:
        with self.lock:
            client_id = self._tokens.get(token)
            cred = self.credentials.get(client_id) if client_id else None
            if cred is None or cred.token != token or cred.token_expires_at <= self._wall():
                return None
            return cred

    def revoke_token(self, client_id: str) -> None:
        """Invalidate the credential's current v1 token (the next /v1/auth issues a new one)
        and every v2 access token it holds."""
        with self.lock:
            cred = self.credentials.get(client_id)
            if cred and cred.token:
                self._tokens.pop(cred.token, None)
                cred.token = None
            self._revoke_access_tokens(client_id)

    def _revoke_access_tokens(self, client_id: str) -> None:
        for token in [t for t, a in self._access_tokens.items() if a.client_id == client_id]:
            del self._access_tokens[token]

    # -- v2: access tokens -----------------------------------------------------------------

    def issue_access_token(
        self, grant_type: str, client_id: str, client_secret: str, scope: str | None
    ) -> tuple[str, int, frozenset[str]]:
        """A new v2 access token with the requested scopes (all the credential's when none
        are asked for); TokenRefused with the OAuth error Personio answers otherwise."""
        with self.lock:
            if not grant_type or not client_id or not client_secret:
                raise TokenRefused(
                    "invalid_request", "The request has missing or invalid required parameters."
                )
            if grant_type != "client_credentials":
                raise TokenRefused(
                    "unsupported_grant_type",
                    "The requested authorization grant type is not supported by the server.",
                )
            cred = self.credentials.get(client_id)
            if cred is None or cred.client_secret != client_secret:
                raise TokenRefused("invalid_client", "Client authentication failed.")
            scopes = cred.scopes
            if scope and scope.strip():
                wanted = frozenset(scope.split())
                if wanted - set(SCOPES):
                    raise TokenRefused("invalid_scope", "One of the requested scopes is invalid.")
                if wanted - cred.scopes:
                    raise TokenRefused(
                        "invalid_grant", "The client may not use all of the requested scopes."
                    )
                scopes = wanted
            wall = self._wall()
            if len(self._access_tokens) >= 1000:
                # Every call issues a new token; expired ones must not pile up in a long run.
                self._access_tokens = {
                    t: a for t, a in self._access_tokens.items() if a.expires_at > wall
                }
            token = "papi-" + uuid.uuid4().hex + uuid.uuid4().hex
            self._access_tokens[token] = AccessToken(client_id, scopes, wall + TOKEN_LIFETIME)
            return token, TOKEN_LIFETIME, scopes

    def access_token(self, token: str) -> AccessToken | None:
        """The live v2 access token (None when unknown, expired, revoked or its credential
        deleted)."""
        with self.lock:
            found = self._access_tokens.get(token)
            if found is None or found.expires_at <= self._wall():
                return None
            if found.client_id not in self.credentials:
                return None
            return found

    def revoke_access_token(self, token: str) -> None:
        with self.lock:
            self._access_tokens.pop(token, None)

    # -- v2: webhooks ----------------------------------------------------------------------

    def create_webhook(self, owner: str, body: Mapping[str, Any]) -> Webhook:
        """Register a webhook for the credential `owner` (WebhookInvalid: 422 for bad fields,
        409 when that credential already has one for the URL — the sandbox's reading of
        Personio's documented 409)."""
        with self.lock:
            webhook = build_webhook(body, owner)
            if any(w.url == webhook.url for w in self.webhooks_of(owner)):
                raise WebhookInvalid(409, "a webhook for this url already exists")
            self.webhooks[webhook.id] = webhook
            return webhook

    def webhooks_of(self, owner: str) -> list[Webhook]:
        """The webhooks the credential `owner` registered. Personio does not say whether a
        credential sees its company's other webhooks; keeping them apart lets several portal
        companies share one sandbox (each change still goes to every enabled webhook: one
        sandbox is one Personio company)."""
        with self.lock:
            return [w for w in self.webhooks.values() if w.owner == owner]

    def webhook_of(self, owner: str, webhook_id: str) -> Webhook | None:
        with self.lock:
            webhook = self.webhooks.get(webhook_id)
            return webhook if webhook is not None and webhook.owner == owner else None

    def update_webhook(
        self, owner: str, webhook_id: str, body: Mapping[str, Any]
    ) -> Webhook | None:
        with self.lock:
            existing = self.webhook_of(owner, webhook_id)
            if existing is None:
                return None
            webhook = build_webhook(body, owner, existing)
            if any(w.url == webhook.url and w.id != webhook_id for w in self.webhooks_of(owner)):
                raise WebhookInvalid(409, "a webhook for this url already exists")
            self.webhooks[webhook_id] = webhook
            return webhook

    def delete_webhook(self, owner: str, webhook_id: str) -> bool:
        with self.lock:
            if self.webhook_of(owner, webhook_id) is None:
                return False
            del self.webhooks[webhook_id]
            return True

    # -- v2: events ------------------------------------------------------------------------

    def _subscribers_exist(self) -> bool:
        return any(w.status == "ENABLED" for w in self.webhooks.values())

    def _emit(self, name: str, person_id: int) -> None:
        """Announce one change to every enabled webhook subscribed to `name`. Dataless: the
        payload names the person (and the employment), nothing more."""
        targets = [
            w.target()
            for w in self.webhooks.values()
            if w.status == "ENABLED" and name in w.enabled_events
        ]
        if not targets:
            return
        payload: dict[str, Any] = {"id": str(person_id)}
        if name.startswith("employment."):
            payload = {"id": employment_id(person_id), "person": {"id": str(person_id)}}
        # The sandbox's today at the real time of day, so a pinned clock dates events too.
        real = datetime.fromtimestamp(self._wall(), PERSONIO_TZ)
        occurred = datetime.combine(self.clock.today(), real.timetz())
        event = Event(
            id=str(uuid.uuid4()),
            company_id=self.company_id,
            name=name,
            occurred_at=occurred.astimezone(UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            payload=payload,
        )
        self.dispatcher.emit(event, targets)

    # -- v1 rendering ----------------------------------------------------------------------

    def allowed_attributes(self, cred: Credential) -> list[AttributeDef]:
        return [a for a in ALL_ATTRIBUTES if cred.attributes is None or a.key in cred.attributes]

    def _render_value(self, adef: AttributeDef, emp: SandboxEmployee, today: date) -> Any:
        if adef.kind == "id":
            return emp.id
        if adef.key == "status":
            return emp.effective_status(today)
        if adef.key == "created_at":
            return personio_timestamp(emp.created_at)
        if adef.key == "last_modified_at":
            return personio_timestamp(emp.last_modified_at)
        value = emp.values.get(adef.key)
        if adef.kind == "date":
            return personio_date(value) if value else adef.empty
        if adef.kind == "object":
            if not value:
                return adef.empty
            return {
                "type": adef.object_type,
                "attributes": {"id": object_id(adef.key, value), "name": value},
            }
        if adef.kind == "cost_centers":
            return [
                {
                    "type": "CostCenter",
                    "attributes": {"id": object_id("cost_center", n), "name": n, "percentage": 100},
                }
                for n in value or []
            ]
        if adef.type == "date":  # custom dates are plain YYYY-MM-DD in v1
            return value.isoformat() if value else adef.empty
        if adef.type == "tags":
            return list(value) if value else adef.empty
        return value if value not in (None, "") else adef.empty

    def is_malformed(self, emp: SandboxEmployee) -> bool:
        """Whether `emp` is served malformed (`FaultConfig.malformed_share`): a hash of the id
        and the seed, the same answer on every request."""
        share = self.faults.malformed_share
        if not share:
            return False
        return (emp.id * 2_654_435_761 + self.seed * 40_503) % 10_007 < share * 10_007

    def render_employee(
        self, emp: SandboxEmployee, attrs: list[AttributeDef], today: date
    ) -> dict[str, Any]:
        attributes: dict[str, dict[str, Any]] = {
            a.key: {
                "label": a.label,
                "value": self._render_value(a, emp, today),
                "type": a.type,
                "universal_id": a.universal_id,
            }
            for a in attrs
        }
        if "hire_date" in attributes and self.is_malformed(emp):
            attributes["hire_date"]["value"] = MALFORMED_DATE
        return {"type": "Employee", "attributes": attributes}

    def projection(self, cred: Credential, requested: list[str]) -> list[AttributeDef]:
        allowed = self.allowed_attributes(cred)
        if not requested:
            return allowed
        wanted = set(requested) | {"id"}
        # Personio silently drops attributes the credential may not read or that do not exist.
        return [a for a in allowed if a.key in wanted]

    def list_employees(
        self,
        cred: Credential,
        *,
        limit: int,
        offset: int,
        email: str | None,
        attributes: list[str],
        updated_since: datetime | None,
    ) -> dict[str, Any]:
        """The v1 list envelope for one page (Personio semantics; see docs/personio.md)."""
        with self.lock:
            today = self.clock.today()
            attrs = self.projection(cred, attributes)
            ids: list[int] = self._order
            if updated_since is not None:
                # updated_since ignores `email`; with attributes[] it selects employees with any
                # of those attributes changed (Personio's documented semantics).
                selected = {a.key for a in attrs} - {"id"} if attributes else None
                ids = [
                    i
                    for i in ids
                    if self.employees[i].last_modified_at > updated_since
                    and (
                        selected is None
                        or any(
                            self.employees[i].changed_at.get(k, self.employees[i].created_at)
                            > updated_since
                            for k in selected
                        )
                    )
                ]
            elif email:
                wanted = email.strip().lower()
                ids = [
                    i
                    for i in ids
                    if str(self.employees[i].values.get("email", "")).lower() == wanted
                ]
            total = len(ids)
            page = ids[offset : offset + limit]
            data = [self.render_employee(self.employees[i], attrs, today) for i in page]
            return {
                "success": True,
                "metadata": {
                    "total_elements": total,
                    "current_page": offset // limit,
                    "total_pages": (total + limit - 1) // limit,
                },
                "offset": offset,
                "limit": limit,
                "data": data,
            }

    def get_employee(self, cred: Credential, employee_id: int) -> dict[str, Any] | None:
        with self.lock:
            emp = self.employees.get(employee_id)
            if emp is None:
                return None
            return self.render_employee(emp, self.allowed_attributes(cred), self.clock.today())

    def attribute_list(self, cred: Credential) -> list[dict[str, Any]]:
        return [
            {
                "key": a.key,
                "label": a.label,
                "type": a.type,
                "universal_id": a.universal_id,
                "options": list(a.options),
            }
            for a in self.allowed_attributes(cred)
            if a.key != "id"
        ]

    # -- control API: flat employees -------------------------------------------------------

    def flat(self, emp: SandboxEmployee) -> dict[str, Any]:
        """An employee as flat JSON: v1 keys -> plain values, dates YYYY-MM-DD, custom by label."""
        today = self.clock.today()
        out: dict[str, Any] = {"id": emp.id}
        for a in ALL_ATTRIBUTES:
            if a.key == "id":
                continue
            name = a.label if a in CUSTOM else a.key
            value = emp.values.get(a.key)
            if a.key == "status":
                value = emp.effective_status(today)
            elif a.key == "created_at":
                value = emp.created_at.isoformat()
            elif a.key == "last_modified_at":
                value = emp.last_modified_at.isoformat()
            elif isinstance(value, date):
                value = value.isoformat()
            elif isinstance(value, list):
                value = list(value)
            out[name] = value
        return out

    def list_flat(self, offset: int = 0, limit: int | None = None) -> list[dict[str, Any]]:
        with self.lock:
            ids = self._order[offset : None if limit is None else offset + limit]
            return [self.flat(self.employees[i]) for i in ids]

    def get_flat(self, employee_id: int) -> dict[str, Any] | None:
        with self.lock:
            emp = self.employees.get(employee_id)
            return self.flat(emp) if emp else None

    def _coerce(self, name: str, value: Any) -> tuple[str, Any]:
        adef = BY_KEY.get(name) or BY_LABEL.get(name)
        if adef is None or not adef.writable:
            raise ControlError(f"unknown or read-only attribute {name!r}")
        if adef.kind == "date" or adef.type == "date":
            return adef.key, parse_flat_date(name, value)
        if adef.kind == "cost_centers" or adef.type == "tags":
            if value is None:
                return adef.key, []
            if isinstance(value, str):
                value = [v.strip() for v in value.split(",") if v.strip()]
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise ControlError(f"{name}: expected a list of strings")
            return adef.key, list(value)
        if adef.key == "status" and value not in ("active", "leave", "onboarding", "inactive"):
            raise ControlError("status must be one of active, leave, onboarding, inactive")
        if value is None:
            return adef.key, None if adef.kind == "object" or adef.empty is None else ""
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise ControlError(f"{name}: expected a string")
        return adef.key, str(value)

    def create_employee(self, data: Mapping[str, Any]) -> int:
        with self.lock:
            if "id" in data:
                raise ControlError("id is assigned by the sandbox")
            now = self.clock.now()
            new_id = (max(self._order) if self._order else 1_000_000) + 1
            values: dict[str, Any] = {}
            for a in ALL_ATTRIBUTES:
                if a.writable:
                    values[a.key] = [] if a.empty == [] else (None if a.empty is None else "")
            values["status"] = "active"
            values["employment_type"] = "internal"
            for name, value in data.items():
                key, coerced = self._coerce(name, value)
                values[key] = coerced
            emp = SandboxEmployee(new_id, values, now, now, dict.fromkeys(values, now))
            self.employees[new_id] = emp
            self._order.append(new_id)
            self._emit("person.created", new_id)
            self._emit("employment.created", new_id)
            return new_id

    def patch_employee(
        self, employee_id: int, data: Mapping[str, Any], *, touch: bool = True
    ) -> dict[str, Any] | None:
        """Apply changes; `last_modified_at` (and per-attribute change times) move only for
        values that really changed, and not at all with `touch=False` (Personio changes some
        values, e.g. a status, without moving `last_modified_at`). A real change announces
        `person.updated` and/or `employment.updated` unless every changed attribute is in
        `webhook_silent_attributes`."""
        with self.lock:
            emp = self.employees.get(employee_id)
            if emp is None:
                return None
            coerced = dict(self._coerce(name, value) for name, value in data.items())
            now = self.clock.now()
            if now <= emp.last_modified_at:
                now = emp.last_modified_at + timedelta(seconds=1)
            changed: set[str] = set()
            for key, value in coerced.items():
                if emp.values.get(key) != value:
                    emp.values[key] = value
                    if touch:
                        emp.changed_at[key] = now
                    changed.add(key)
            if changed and touch:
                emp.last_modified_at = now
            announced = changed - set(self.faults.webhook_silent_attributes)
            if any(k in PERSON_KEYS or k.startswith("dynamic_") for k in announced):
                self._emit("person.updated", employee_id)
            if any(k not in PERSON_KEYS and not k.startswith("dynamic_") for k in announced):
                self._emit("employment.updated", employee_id)
            return self.flat(emp)

    def delete_employee(self, employee_id: int) -> bool:
        with self.lock:
            if self.employees.pop(employee_id, None) is None:
                return False
            self._order.remove(employee_id)
            # Personio: employment.deleted also fires when the person is deleted.
            self._emit("employment.deleted", employee_id)
            self._emit("person.deleted", employee_id)
            return True


def employment_id(person_id: int) -> str:
    """The sandbox person's one employment: a uuid derived from the person id (v2 employment
    ids are uuids), stable across resets."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"benefitsync-sandbox:employment:{person_id}"))
