"""Personio's v2 webhooks management API: the three calls the portal needs.

`POST /v2/auth/token` (form-encoded client credentials → a `papi-` access token), then
`GET/POST/DELETE /v2/webhooks` with it (scope `personio:webhooks:write`). Sources and what the
sandbox assumes: `../shared/reference/personio/WEBHOOKS.md`, docs/personio.md. The calls go
through a v1 `PersonioClient`'s connection, limiter and retries (`PersonioClient.send`); the
access token is asked for once per `WebhookAdmin`, which lives for one management action.
"""

from __future__ import annotations

from typing import Any, NoReturn

import httpx

from .client import PersonioClient
from .decode import InvalidJSON, decode_object
from .errors import AuthenticationError, FatalError, NotFoundError, NotPermitted

WEBHOOKS_SCOPE = "personio:webhooks:write"


def _problem(response: httpx.Response) -> tuple[str, str | None]:
    """What a v2 error says — `detail` of its problem+json, or OAuth's `error_description` —
    and OAuth's error code (None when there is none)."""
    try:
        body = decode_object(response.content)
    except InvalidJSON:
        return response.reason_phrase, None
    if not isinstance(body, dict):
        return response.reason_phrase, None
    code = body.get("error") if isinstance(body.get("error"), str) else None
    for key in ("detail", "error_description", "title", "error"):
        if isinstance(body.get(key), str) and body[key]:
            return str(body[key])[:200], code
    return response.reason_phrase, code


class WebhookAdmin:
    """Lists, creates and deletes the credential's webhooks. Raises `NotPermitted` when the
    credential lacks the webhooks scope, `AuthenticationError` when Personio refuses the
    credential, the client's other errors otherwise."""

    def __init__(self, client: PersonioClient) -> None:
        self.client = client
        self._token: str | None = None

    def _bearer(self) -> dict[str, str]:
        if self._token is None:
            credentials = self.client.credentials
            response = self.client.send(
                "POST",
                "/v2/auth/token",
                what="v2 token",
                # Asking for the one scope needed: a credential without it is refused here
                # (invalid_grant), one request, instead of after a token and a 403.
                data={
                    "grant_type": "client_credentials",
                    "client_id": credentials.client_id,
                    "client_secret": credentials.client_secret,
                    "scope": WEBHOOKS_SCOPE,
                },
            )
            if response.status_code != 200:
                self._refused(response, "v2 token")
            body = decode_object(response.content)
            token = body.get("access_token") if isinstance(body, dict) else None
            if not isinstance(token, str) or not token:
                raise FatalError("v2 token response without an access_token", status=200)
            self._token = token
        return {"Authorization": f"Bearer {self._token}"}

    def _refused(self, response: httpx.Response, what: str) -> NoReturn:
        detail, code = _problem(response)
        status = response.status_code
        message = f"{what}: HTTP {status}: {detail}"
        if status == 403 or (status == 400 and code in ("invalid_grant", "invalid_scope")):
            raise NotPermitted(message, status=status)
        if status == 401 or (status == 400 and code == "invalid_client"):
            raise AuthenticationError(message, status=status)
        if status == 404:
            raise NotFoundError(message, status=status)
        raise FatalError(message, status=status)

    def webhooks(self) -> list[dict[str, Any]]:
        response = self.client.send(
            "GET", "/v2/webhooks", what="list webhooks", headers=self._bearer()
        )
        if response.status_code != 200:
            self._refused(response, "list webhooks")
        body = decode_object(response.content)
        data = body.get("_data") if isinstance(body, dict) else None
        return [w for w in data if isinstance(w, dict)] if isinstance(data, list) else []

    def create(
        self, *, url: str, token: str, description: str, events: list[str]
    ) -> dict[str, Any]:
        """An enabled webhook to `url` that sends `token` in the Authorization header."""
        response = self.client.send(
            "POST",
            "/v2/webhooks",
            what="create webhook",
            headers=self._bearer(),
            json={
                "url": url,
                "description": description,
                "status": "ENABLED",  # Personio's default is DISABLED
                "auth_type": "TOKEN",
                "token": token,
                "enabled_events": events,
            },
        )
        if response.status_code not in (200, 201):
            self._refused(response, "create webhook")
        body = decode_object(response.content)
        if not isinstance(body, dict) or not isinstance(body.get("id"), str):
            raise FatalError("create webhook: response without an id", status=response.status_code)
        return body

    def delete(self, webhook_id: str) -> bool:
        """Delete one webhook; False when Personio has no such webhook (any more)."""
        response = self.client.send(
            "DELETE", f"/v2/webhooks/{webhook_id}", what="delete webhook", headers=self._bearer()
        )
        if response.status_code == 404:
            return False
        if response.status_code not in (200, 204):
            self._refused(response, "delete webhook")
        return True
