"""The sandbox's HTTP surface: Personio v1 endpoints under /v1, the v2 token and webhooks
management endpoints under /v2, and the control API under /sandbox.

Personio v1 behaviour reproduced here (see docs/personio.md for sources):
`POST /v1/auth` with credentials in a JSON or form body (query-string credentials: 403); stable
`papi-` tokens for 24 h; every successful response echoes `Authorization: Bearer <token>`;
invalid tokens get 401 in Personio's error envelope `{"success": false, "error": {...}}`;
`GET /v1/company/employees` with `limit` (default 50, max 100), item-counting `offset`, `email`,
`attributes[]`, `updated_since`; the per-credential attribute whitelist; 429 without Retry-After
beyond 15/s or 300/min (employees) and 60/min (auth).

Personio v2 reproduced here: `POST /v2/auth/token` (form-encoded client credentials grant, OAuth
errors as 400 `application/problem+json`, as `credentials-service-api-v2.json` says) and
`/v2/webhooks` (create needs the scope `personio:webhooks:write`; errors in v2's
`{personio_trace_id, timestamp, errors: [{title, detail, type}]}` shape).
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import parse_qs

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from ..schemas import PERSONIO_TZ
from .state import (
    WEBHOOKS_READ,
    WEBHOOKS_WRITE,
    AccessToken,
    ControlError,
    Credential,
    FaultConfig,
    SandboxState,
    TokenRefused,
)
from .webhooks import WebhookInvalid

MAX_LIMIT = 100
DEFAULT_LIMIT = 50


class InjectedConnectionReset(Exception):
    """Raised after the headers went out, so uvicorn drops the connection mid-response."""


class _DropLoggedResets(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        while exc is not None:
            if isinstance(exc, InjectedConnectionReset):
                return False
            exc = exc.__cause__ or exc.__context__
        return True


def quiet_injected_resets() -> None:
    """Keep injected connection resets out of the server log (they are not server bugs)."""
    logger = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, _DropLoggedResets) for f in logger.filters):
        logger.addFilter(_DropLoggedResets())


class _ResetResponse(Response):
    def __init__(self) -> None:
        super().__init__(status_code=200)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"application/json"), (b"content-length", b"4096")],
            }
        )
        await send({"type": "http.response.body", "body": b'{"success": tr', "more_body": True})
        raise InjectedConnectionReset("injected connection reset")


def personio_error(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    """Personio's error envelope."""
    return JSONResponse(
        {"success": False, "error": {"code": status, "message": message}},
        status_code=status,
        headers=headers,
    )


V2_ERRORS = {
    400: ("Bad request", "common.bad_request"),
    401: ("Unauthorized", "common.unauthorized"),
    403: ("Forbidden", "common.forbidden"),
    404: ("Resource not found", "common.resource_not_found"),
    409: ("Conflict", "common.conflict"),
    422: ("Unprocessable entity", "common.unprocessable_entity"),
}


def _trace_id() -> str:
    return str(uuid.uuid4())


def _utc_timestamp() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def v2_error(status: int, detail: str) -> Response:
    """Personio v2's error shape (common-components-v2 `ErrorResponse`) as problem+json."""
    title, code = V2_ERRORS.get(status, ("Error", "common.error"))
    return JSONResponse(
        {
            "personio_trace_id": _trace_id(),
            "timestamp": _utc_timestamp(),
            "errors": [
                {
                    "title": title,
                    "detail": detail,
                    "type": f"https://developer.personio.de/reference/errors#{code}",
                }
            ],
        },
        status_code=status,
        media_type="application/problem+json",
    )


def _oauth_error(error: str, description: str) -> Response:
    # The token endpoint answers every refusal with 400 and an OAuth 2.0 error body.
    return JSONResponse(
        {
            "timestamp": _utc_timestamp(),
            "trace_id": _trace_id(),
            "error": error,
            "error_description": description,
            "error_uri": f"https://developer.personio.de/reference/errors#credentials.oauth2.{error}",
        },
        status_code=400,
        media_type="application/problem+json",
    )


def _control_error(message: str, status: int = 400) -> Response:
    return JSONResponse({"error": message}, status_code=status)


def parse_updated_since(raw: str) -> datetime:
    """`ISO 8601` (2022-12-24T08:15:30) or `YYYY-MM-DD`; naive means Personio local time."""
    value = raw.strip().replace("Z", "+00:00")
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=PERSONIO_TZ)


Handler = Callable[[Request, Credential], Awaitable[Response]]


def create_app(state: SandboxState) -> Starlette:
    """The ASGI app serving `state`."""

    async def sleep_interruptibly(seconds: float) -> None:
        # Hanging requests must not keep the server from shutting down at test teardown.
        loop = asyncio.get_running_loop()
        end = loop.time() + seconds
        while not state.stopping.is_set() and loop.time() < end:
            await asyncio.sleep(min(0.05, max(0.0, end - loop.time())))

    async def faulted(
        group: str,
        endpoint: str,
        client_id: str | None,
        error: Callable[[int, str], Response] = personio_error,
    ) -> Response | str | None:
        """Latency, then maybe an injected fault (its error body rendered by `error`: v1's
        envelope or v2's problem+json).

        Returns a Response to answer with instead, "truncated" when the real answer must be cut
        short, or None to answer normally.
        """
        kind = state.draw_fault(group)
        delay = state.latency()
        if delay:
            await sleep_interruptibly(delay)
        if kind is None:
            return None
        state.count_fault(kind)
        if kind == "timeout":
            await sleep_interruptibly(state.faults.hang_seconds)
            return None  # then answer normally: the client has given up long ago
        if kind == "truncated":
            return "truncated"
        if kind == "reset":
            state.count(endpoint, "reset")
            return _ResetResponse()
        if kind == "revoke_token":
            if client_id:
                state.revoke_token(client_id)
            state.count(endpoint, 401)
            return error(401, "The access token is invalid")
        status = int(kind)
        state.count(endpoint, status)
        if status == 429:
            # Personio's 429 carries no Retry-After header.
            return error(429, "Too Many Requests")
        return error(status, "Es ist ein Problem aufgetreten")

    def truncate(response: Response) -> Response:
        # A 200 whose JSON stops halfway (with a correct Content-Length, so HTTP itself is fine).
        body = bytes(response.body)
        cut = body[: max(1, len(body) // 2)]
        headers = {k: v for k, v in response.headers.items() if k.lower() != "content-length"}
        return Response(cut, status_code=response.status_code, headers=headers)

    def v1(group: str, endpoint: str, handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint_fn(request: Request) -> Response:
            header = request.headers.get("authorization", "")
            token = header[7:].strip() if header.lower().startswith("bearer ") else ""
            cred = state.credential_for_token(token) if token else None
            if cred is None:
                state.count(endpoint, 401)
                message = "Authorization is not provided" if not token else "The token is invalid"
                return personio_error(401, message)
            if not state.allow(group, cred.client_id):
                state.count(endpoint, 429)
                return personio_error(429, "Too Many Requests")
            fault = await faulted(group, endpoint, cred.client_id)
            if isinstance(fault, Response):
                return fault
            response = await handler(request, cred)
            state.count(endpoint, response.status_code)
            if response.status_code == 200:
                response.headers["Authorization"] = f"Bearer {token}"
                if fault == "truncated":
                    return truncate(response)
            return response

        return endpoint_fn

    # -- Personio v1 -------------------------------------------------------------------------

    async def auth(request: Request) -> Response:
        if "client_id" in request.query_params or "client_secret" in request.query_params:
            # Personio refuses query-string credentials (deprecated, then 403).
            state.count("auth", 403)
            return personio_error(403, "Credentials must be sent in the request body")
        content_type = request.headers.get("content-type", "")
        body: dict[str, Any] = {}
        try:
            if "json" in content_type:
                parsed = await request.json()
                body = parsed if isinstance(parsed, dict) else {}
            else:
                # application/x-www-form-urlencoded, parsed by hand (no python-multipart needed).
                raw = (await request.body()).decode()
                body = {k: v[0] for k, v in parse_qs(raw).items()}
        except (ValueError, UnicodeDecodeError):
            body = {}
        client_id, secret = str(body.get("client_id") or ""), str(body.get("client_secret") or "")
        if not client_id or not secret:
            state.count("auth", 400)
            return personio_error(400, "client_id and client_secret are required")
        if not state.allow("auth", client_id):
            state.count("auth", 429)
            return personio_error(429, "Too Many Requests")
        fault = await faulted("auth", "auth", None)
        if isinstance(fault, Response):
            return fault
        issued = state.issue_token(client_id, secret)
        if issued is None:
            state.count("auth", 401)
            return personio_error(401, "Wrong credentials")
        token, expires_in = issued
        state.count("auth", 200)
        response: Response = JSONResponse(
            {
                "success": True,
                "data": {"token": token, "expires_in": expires_in, "scope": "employees:read"},
            },
            headers={"Authorization": f"Bearer {token}"},
        )
        if fault == "truncated":
            response = truncate(response)
        return response

    async def list_employees(request: Request, cred: Credential) -> Response:
        q = request.query_params
        try:
            limit = int(q.get("limit", DEFAULT_LIMIT))
            offset = int(q.get("offset", 0))
        except ValueError:
            return personio_error(400, "limit and offset must be integers")
        if limit < 1 or limit > MAX_LIMIT or offset < 0:
            return personio_error(400, f"limit must be between 1 and {MAX_LIMIT}, offset >= 0")
        since = None
        if q.get("updated_since"):
            try:
                since = parse_updated_since(q["updated_since"])
            except ValueError:
                return personio_error(400, "updated_since must be ISO 8601 or YYYY-MM-DD")
        attributes = q.getlist("attributes[]") or q.getlist("attributes")
        payload = state.list_employees(
            cred,
            limit=limit,
            offset=offset,
            email=q.get("email"),
            attributes=attributes,
            updated_since=since,
        )
        return JSONResponse(payload)

    async def get_employee(request: Request, cred: Credential) -> Response:
        try:
            employee_id = int(request.path_params["employee_id"])
        except ValueError:
            return personio_error(404, "Es ist ein Problem aufgetreten ")
        data = state.get_employee(cred, employee_id)
        if data is None:
            return personio_error(404, "Es ist ein Problem aufgetreten ")
        return JSONResponse({"success": True, "data": data})

    async def attributes(request: Request, cred: Credential) -> Response:
        return JSONResponse({"success": True, "data": state.attribute_list(cred)})

    # -- Personio v2 -------------------------------------------------------------------------

    async def form_body(request: Request) -> dict[str, str]:
        # application/x-www-form-urlencoded, parsed by hand (no python-multipart needed).
        try:
            raw = (await request.body()).decode()
        except UnicodeDecodeError:
            return {}
        return {k: v[0] for k, v in parse_qs(raw).items()}

    async def v2_token(request: Request) -> Response:
        fault = await faulted("v2", "v2_token", None, v2_error)
        if isinstance(fault, Response):
            return fault
        response = await v2_token_answer(request)
        return truncate(response) if fault == "truncated" else response

    async def v2_token_answer(request: Request) -> Response:
        if "application/x-www-form-urlencoded" not in request.headers.get("content-type", ""):
            state.count("v2_token", 400)
            return _oauth_error(
                "invalid_request",
                'The content type of the request must be "application/x-www-form-urlencoded".',
            )
        body = await form_body(request)
        try:
            token, expires_in, scopes = state.issue_access_token(
                body.get("grant_type", ""),
                body.get("client_id", ""),
                body.get("client_secret", ""),
                body.get("scope"),
            )
        except TokenRefused as exc:
            state.count("v2_token", 400)
            return _oauth_error(exc.error, exc.description)
        state.count("v2_token", 200)
        return JSONResponse(
            {
                "access_token": token,
                "token_type": "Bearer",
                "expires_in": expires_in,
                "scope": " ".join(sorted(scopes)),
            }
        )

    async def v2_revoke(request: Request) -> Response:
        body = await form_body(request)
        if not body.get("token"):
            state.count("v2_revoke", 400)
            return _oauth_error("invalid_request", "token is required")
        state.revoke_access_token(body["token"])
        state.count("v2_revoke", 200)
        return Response(status_code=200)

    V2Handler = Callable[[Request, AccessToken], Awaitable[Response]]

    def v2(
        endpoint: str, scopes: tuple[str, ...], handler: V2Handler
    ) -> Callable[[Request], Awaitable[Response]]:
        """Bearer auth with a v2 access token holding one of `scopes`."""

        async def endpoint_fn(request: Request) -> Response:
            header = request.headers.get("authorization", "")
            raw = header[7:].strip() if header.lower().startswith("bearer ") else ""
            token = state.access_token(raw) if raw else None
            if token is None:
                response = v2_error(401, "The access token is missing, invalid or expired.")
            elif not any(s in token.scopes for s in scopes):
                response = v2_error(403, f"The access token lacks the scope {scopes[0]}.")
            else:
                fault = await faulted("v2", endpoint, token.client_id, v2_error)
                if isinstance(fault, Response):
                    return fault
                try:
                    response = await handler(request, token)
                except WebhookInvalid as exc:
                    response = v2_error(exc.status, exc.detail)
                if fault == "truncated" and response.status_code < 300 and response.body:
                    response = truncate(response)
            state.count(endpoint, response.status_code)
            return response

        return endpoint_fn

    async def v2_json(request: Request) -> dict[str, Any]:
        try:
            body = json.loads(await request.body() or b"null")
        except (ValueError, UnicodeDecodeError) as exc:
            raise WebhookInvalid(400, "the body must be a JSON object") from exc
        if not isinstance(body, dict):
            raise WebhookInvalid(400, "the body must be a JSON object")
        return body

    def webhook_links(request: Request, webhook_id: str) -> dict[str, Any]:
        return {"links": {"self": {"href": str(request.url_for("v2_webhook", id=webhook_id))}}}

    async def webhooks_create(request: Request, token: AccessToken) -> Response:
        webhook = state.create_webhook(token.client_id, await v2_json(request))
        return JSONResponse(
            {**webhook.public(), "_meta": webhook_links(request, webhook.id)}, status_code=201
        )

    async def webhooks_list(request: Request, token: AccessToken) -> Response:
        webhooks = [w.public() for w in state.webhooks_of(token.client_id)]
        return JSONResponse(
            {
                "_data": [{**w, "_meta": webhook_links(request, w["id"])} for w in webhooks],
                "_meta": {"links": {"self": {"href": str(request.url)}}},
            }
        )

    async def webhook_get(request: Request, token: AccessToken) -> Response:
        webhook = state.webhook_of(token.client_id, request.path_params["id"])
        public = webhook.public() if webhook else None
        if public is None:
            return v2_error(404, "There is no webhook for the specified id.")
        return JSONResponse({**public, "_meta": webhook_links(request, public["id"])})

    async def webhook_patch(request: Request, token: AccessToken) -> Response:
        webhook = state.update_webhook(
            token.client_id, request.path_params["id"], await v2_json(request)
        )
        if webhook is None:
            return v2_error(404, "There is no webhook for the specified id.")
        return JSONResponse({**webhook.public(), "_meta": webhook_links(request, webhook.id)})

    async def webhook_delete(request: Request, token: AccessToken) -> Response:
        if state.delete_webhook(token.client_id, request.path_params["id"]):
            return Response(status_code=204)
        return v2_error(404, "There is no webhook for the specified id.")

    # -- control API --------------------------------------------------------------------------

    async def read_json(request: Request) -> Any:
        raw = await request.body()
        if not raw.strip():
            return {}
        return json.loads(raw)

    def control(
        fn: Callable[[Request], Awaitable[Response]],
    ) -> Callable[[Request], Awaitable[Response]]:
        async def wrapped(request: Request) -> Response:
            try:
                response = await fn(request)
            except ControlError as exc:
                response = _control_error(str(exc))
            except (ValueError, TypeError) as exc:
                response = _control_error(f"bad request: {exc}")
            state.count("sandbox", response.status_code)
            return response

        return wrapped

    async def index(request: Request) -> Response:
        return JSONResponse(
            {
                "sandbox": "Personio v1 sandbox (benefitsync)",
                "client_id": state.default_client_id,
                "client_secret": state.default_client_secret,
                "employees": len(state.employees),
                "seed": state.seed,
                "today": state.clock.today().isoformat(),
                "rate_limit": "personio" if state.rate_limit else "off",
                "company_id": state.company_id,
                "webhooks": len(state.webhooks),
            }
        )

    async def credentials_create(request: Request) -> Response:
        body = await read_json(request)
        attrs = body.get("attributes") if isinstance(body, dict) else None
        if attrs is not None and not isinstance(attrs, list):
            raise ControlError("attributes must be a list or null")
        scopes = body.get("scopes") if isinstance(body, dict) else None
        if scopes is not None and not isinstance(scopes, list):
            raise ControlError("scopes must be a list or null")
        cred = state.create_credential(attrs, scopes)
        return JSONResponse(
            {
                "client_id": cred.client_id,
                "client_secret": cred.client_secret,
                "attributes": sorted(cred.attributes) if cred.attributes is not None else None,
                "scopes": sorted(cred.scopes),
            },
            status_code=201,
        )

    async def credentials_delete(request: Request) -> Response:
        if state.delete_credential(request.path_params["client_id"]):
            return Response(status_code=204)
        return _control_error("no such credential", 404)

    async def credentials_revoke_token(request: Request) -> Response:
        state.revoke_token(request.path_params["client_id"])
        return Response(status_code=204)

    async def employees_list(request: Request) -> Response:
        offset = int(request.query_params.get("offset", 0))
        limit_raw = request.query_params.get("limit")
        return JSONResponse(state.list_flat(offset, int(limit_raw) if limit_raw else None))

    async def employees_create(request: Request) -> Response:
        body = await read_json(request)
        if not isinstance(body, dict):
            raise ControlError("expected a JSON object")
        return JSONResponse({"id": state.create_employee(body)}, status_code=201)

    def employee_id(request: Request) -> int:
        return int(request.path_params["employee_id"])

    async def employee_get(request: Request) -> Response:
        flat = state.get_flat(employee_id(request))
        return JSONResponse(flat) if flat else _control_error("no such employee", 404)

    async def employee_patch(request: Request) -> Response:
        body = await read_json(request)
        if not isinstance(body, dict):
            raise ControlError("expected a JSON object")
        touch = request.query_params.get("touch", "true").lower() not in ("false", "0", "no")
        flat = state.patch_employee(employee_id(request), body, touch=touch)
        return JSONResponse(flat) if flat else _control_error("no such employee", 404)

    async def employee_delete(request: Request) -> Response:
        if state.delete_employee(employee_id(request)):
            return Response(status_code=204)
        return _control_error("no such employee", 404)

    async def faults_get(request: Request) -> Response:
        return JSONResponse(state.faults.as_dict())

    async def faults_put(request: Request) -> Response:
        body = await read_json(request)
        if not isinstance(body, dict):
            raise ControlError("expected a JSON object")
        base = state.faults if request.method == "PATCH" else None
        state.set_faults(FaultConfig.from_json(body, base))
        return JSONResponse(state.faults.as_dict())

    async def deliveries_get(request: Request) -> Response:
        limit = int(request.query_params.get("limit", 500))
        return JSONResponse(
            {"stats": state.dispatcher.stats(), "deliveries": state.dispatcher.log(limit)}
        )

    async def stats_get(request: Request) -> Response:
        return JSONResponse(state.stats())

    async def stats_delete(request: Request) -> Response:
        state.reset_stats()
        return Response(status_code=204)

    async def reset(request: Request) -> Response:
        body = await read_json(request)
        if not isinstance(body, dict):
            raise ControlError("expected a JSON object")
        employees, seed = body.get("employees"), body.get("seed")
        state.reset(
            employees=None if employees is None else int(employees),
            seed=None if seed is None else int(seed),
        )
        return JSONResponse({"employees": len(state.employees), "seed": state.seed})

    async def clock_get(request: Request) -> Response:
        return JSONResponse(
            {"today": state.clock.today().isoformat(), "fixed": state.clock.fixed_today is not None}
        )

    async def clock_put(request: Request) -> Response:
        body = await read_json(request)
        raw = body.get("today") if isinstance(body, dict) else None
        state.set_today(date.fromisoformat(raw) if raw else None)
        return await clock_get(request)

    async def rate_limit_put(request: Request) -> Response:
        body = await read_json(request)
        with state.lock:
            state.rate_limit = bool(body.get("enabled", True)) if isinstance(body, dict) else True
        return JSONResponse({"rate_limit": "personio" if state.rate_limit else "off"})

    routes = [
        Route("/v1/auth", auth, methods=["POST"]),
        Route(
            "/v1/company/employees",
            v1("employees", "employees", list_employees),
            methods=["GET"],
        ),
        Route(
            "/v1/company/employees/attributes",
            v1("employees", "attributes", attributes),
            methods=["GET"],
        ),
        Route(
            "/v1/company/employees/custom-attributes",
            v1("employees", "attributes", attributes),
            methods=["GET"],
        ),
        Route(
            "/v1/company/employees/{employee_id}",
            v1("employees", "employee", get_employee),
            methods=["GET"],
        ),
        Route("/v2/auth/token", v2_token, methods=["POST"]),
        Route("/v2/auth/revoke", v2_revoke, methods=["POST"]),
        Route(
            "/v2/webhooks",
            v2("v2_webhooks", (WEBHOOKS_WRITE,), webhooks_create),
            methods=["POST"],
        ),
        Route(
            "/v2/webhooks",
            v2("v2_webhooks", (WEBHOOKS_READ, WEBHOOKS_WRITE), webhooks_list),
            methods=["GET"],
        ),
        Route(
            "/v2/webhooks/{id}",
            v2("v2_webhooks", (WEBHOOKS_READ, WEBHOOKS_WRITE), webhook_get),
            methods=["GET"],
            name="v2_webhook",
        ),
        Route(
            "/v2/webhooks/{id}",
            v2("v2_webhooks", (WEBHOOKS_WRITE,), webhook_patch),
            methods=["PATCH"],
        ),
        Route(
            "/v2/webhooks/{id}",
            v2("v2_webhooks", (WEBHOOKS_WRITE,), webhook_delete),
            methods=["DELETE"],
        ),
        Route("/sandbox", control(index), methods=["GET"]),
        Route("/sandbox/deliveries", control(deliveries_get), methods=["GET"]),
        Route("/sandbox/credentials", control(credentials_create), methods=["POST"]),
        Route("/sandbox/credentials/{client_id}", control(credentials_delete), methods=["DELETE"]),
        Route(
            "/sandbox/credentials/{client_id}/revoke-token",
            control(credentials_revoke_token),
            methods=["POST"],
        ),
        Route("/sandbox/employees", control(employees_list), methods=["GET"]),
        Route("/sandbox/employees", control(employees_create), methods=["POST"]),
        Route("/sandbox/employees/{employee_id:int}", control(employee_get), methods=["GET"]),
        Route("/sandbox/employees/{employee_id:int}", control(employee_patch), methods=["PATCH"]),
        Route("/sandbox/employees/{employee_id:int}", control(employee_delete), methods=["DELETE"]),
        Route("/sandbox/faults", control(faults_get), methods=["GET"]),
        Route("/sandbox/faults", control(faults_put), methods=["PUT", "PATCH"]),
        Route("/sandbox/stats", control(stats_get), methods=["GET"]),
        Route("/sandbox/stats", control(stats_delete), methods=["DELETE"]),
        Route("/sandbox/reset", control(reset), methods=["POST"]),
        Route("/sandbox/clock", control(clock_get), methods=["GET"]),
        Route("/sandbox/clock", control(clock_put), methods=["PUT"]),
        Route("/sandbox/rate-limit", control(rate_limit_put), methods=["PUT"]),
    ]
    return Starlette(routes=routes)
