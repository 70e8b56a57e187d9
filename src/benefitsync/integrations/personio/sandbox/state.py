"""The sandbox's in-memory state: employees, credentials and tokens, clock, faults, limits, stats.

All public methods take one lock, so the state may be driven from the server's event loop and,
at the same time, from a test thread through the handle `running_sandbox()` returns.
"""

from __future__ import annotations

import hashlib
import random
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from datetime import date, datetime, timedelta
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

DEFAULT_CLIENT_ID = "sandbox-client-id"
DEFAULT_CLIENT_SECRET = "sandbox-client-secret"  # noqa: S105 - a published demo credential
TOKEN_LIFETIME = 24 * 3600  # Personio's stable tokens last 24 h

# The value a malformed record carries (see `FaultConfig.malformed_share`).
MALFORMED_DATE = "31.02.2020"
FAULT_KINDS = ("429", "500", "502", "503", "504", "timeout", "reset", "truncated", "revoke_token")
FAULT_GROUPS = ("employees", "auth")


class ControlError(ValueError):
    """A control-API request the sandbox refuses (HTTP 400 with this message)."""


@dataclass
class FaultConfig:
    """What goes wrong, and how often (rates are probabilities per request, 0..1).

    `script` lists faults for the next requests in order (then the rates apply again), which
    makes a test's fault sequence exact; `endpoints` says which groups faults apply to
    ("employees": every `/v1/company/employees*` endpoint, "auth": `/v1/auth`). Latency applies
    to every `/v1` request: `latency_ms` plus a uniform random 0..`latency_jitter_ms`.

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
                if (f.name.startswith("rate_") or f.name == "malformed_share") and not 0.0 <= float(
                    value
                ) <= 1.0:
                    raise ControlError(f"{f.name} must be between 0 and 1")
                if (
                    f.name in ("latency_ms", "latency_jitter_ms", "hang_seconds")
                    and float(value) < 0
                ):
                    raise ControlError(f"{f.name} must be >= 0")
            if any(e not in FAULT_GROUPS for e in config.endpoints):
                raise ControlError(f"endpoints must be among {FAULT_GROUPS}")
            if any(s not in (*FAULT_KINDS, "ok") for s in config.script):
                raise ControlError(f"script items must be among {(*FAULT_KINDS, 'ok')}")
        except (TypeError, ValueError) as exc:
            raise ControlError(str(exc)) from exc
        return config

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Credential:
    """A sandbox API credential with its attribute whitelist (None = every attribute)."""

    client_id: str
    client_secret: str
    attributes: frozenset[str] | None = None
    token: str | None = None
    token_expires_at: float = 0.0
    generation: int = 0


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
        self.credentials: dict[str, Credential] = {}
        self._tokens: dict[str, str] = {}
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
            self.reset_stats()

    # -- clock -----------------------------------------------------------------------------

    def set_today(self, today: date | None) -> None:
        with self.lock:
            self.clock.fixed_today = today

    # -- faults ----------------------------------------------------------------------------

    def set_faults(self, config: FaultConfig) -> None:
        with self.lock:
            # A copy: the script is consumed as requests arrive, the start config must survive.
            self.faults = replace(
                config, script=list(config.script), endpoints=list(config.endpoints)
            )
            self._fault_rng = random.Random(config.seed)

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
            }

    # -- credentials and tokens ------------------------------------------------------------

    def create_credential(self, attributes: Iterable[str] | None) -> Credential:
        """A new credential; `attributes` are v1 keys or custom labels (None = all)."""
        with self.lock:
            allowed: frozenset[str] | None = None
            if attributes is not None:
                keys = set()
                for name in attributes:
                    adef = BY_KEY.get(name) or BY_LABEL.get(name)
                    if adef is None:
                        raise ControlError(f"unknown attribute {name!r}")
                    keys.add(adef.key)
                allowed = frozenset(keys | {"id"})
            self._cred_counter += 1
            digest = hashlib.sha256(f"{self.seed}:{self._cred_counter}".encode()).hexdigest()
            cred = Credential(f"papi-client-{digest[:12]}", f"secret-{digest[12:44]}", allowed)
            self.credentials[cred.client_id] = cred
            return cred

    def delete_credential(self, client_id: str) -> bool:
        with self.lock:
            cred = self.credentials.pop(client_id, None)
            if cred and cred.token:
                self._tokens.pop(cred.token, None)
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
        """Invalidate the credential's current token (the next /v1/auth issues a new one)."""
        with self.lock:
            cred = self.credentials.get(client_id)
            if cred and cred.token:
                self._tokens.pop(cred.token, None)
                cred.token = None

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
            return new_id

    def patch_employee(self, employee_id: int, data: Mapping[str, Any]) -> dict[str, Any] | None:
        """Apply changes; `last_modified_at` (and per-attribute change times) move only for
        values that really changed."""
        with self.lock:
            emp = self.employees.get(employee_id)
            if emp is None:
                return None
            coerced = dict(self._coerce(name, value) for name, value in data.items())
            now = self.clock.now()
            if now <= emp.last_modified_at:
                now = emp.last_modified_at + timedelta(seconds=1)
            changed = False
            for key, value in coerced.items():
                if emp.values.get(key) != value:
                    emp.values[key] = value
                    emp.changed_at[key] = now
                    changed = True
            if changed:
                emp.last_modified_at = now
            return self.flat(emp)

    def delete_employee(self, employee_id: int) -> bool:
        with self.lock:
            if self.employees.pop(employee_id, None) is None:
                return False
            self._order.remove(employee_id)
            return True
