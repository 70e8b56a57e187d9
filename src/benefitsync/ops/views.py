"""Operability endpoints: `/health/` (web and workers) and `/metrics` (Prometheus).

Both answer without a login (load balancers and Prometheus have none); `/metrics` requires
`Authorization: Bearer <METRICS_TOKEN>` when that setting is set, and in production it must be
set (without it `/metrics` refuses everyone). Neither reveals company data: only counts and
statuses. Worker names (host and process id) are shown to support staff and to callers with
the metrics token only, not to anonymous callers.
"""

from __future__ import annotations

import hmac
import time
from typing import Any

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache

from benefitsync.accounts import access
from benefitsync.ops import heartbeat, metrics


def check_database() -> str | None:
    """None when the database answers a trivial query, else the error (type only, no DSN)."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:
        return type(exc).__name__
    return None


def health_report(*, detail: bool = True) -> tuple[bool, dict[str, Any]]:
    """(healthy, JSON body) for the web process: database and job queue reachable.

    Workers are reported, not required: the web serves pages without them, and each worker's
    own health is `benefitsync health --worker` on its machine. Without `detail`, the workers
    are listed without their names (host name and process id)."""
    started = time.monotonic()
    body: dict[str, Any] = {}
    db_error = check_database()
    body["database"] = "ok" if db_error is None else f"error: {db_error}"
    try:
        body["queue_depth"] = metrics.queue_depth()
        beats = heartbeat.beats()
        body["queue"] = "ok"
        body["workers"] = [
            {
                **({"worker": b.worker} if detail else {}),
                "alive": b.alive(),
                "age_seconds": round(b.age(), 1),
                "periodic": b.periodic,
            }
            for b in beats
        ]
        body["workers_alive"] = sum(1 for b in beats if b.alive())
    except Exception as exc:
        body["queue"] = f"error: {type(exc).__name__}"
    healthy = db_error is None and body["queue"] == "ok"
    body = {"status": "ok" if healthy else "error", **body}
    body["elapsed_ms"] = round(1000 * (time.monotonic() - started), 1)
    return healthy, body


@access.public("GET")
@never_cache
def health(request: HttpRequest) -> JsonResponse:
    detail = bool(getattr(request.user, "is_support", False)) or (
        bool(settings.METRICS_TOKEN) and _authorized(request)
    )
    healthy, body = health_report(detail=detail)
    return JsonResponse(body, status=200 if healthy else 503)


def _authorized(request: HttpRequest) -> bool:
    token: str = settings.METRICS_TOKEN
    if not token:
        # Open only outside production (the local embedded default); production needs a token.
        return not settings.PRODUCTION
    header = request.headers.get("Authorization", "")
    scheme, _, given = header.partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip(), token)


@access.public("GET")
@never_cache
def metrics_view(request: HttpRequest) -> HttpResponse:
    if not _authorized(request):
        response = HttpResponse("A valid bearer token is required.\n", status=401)
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    return HttpResponse(metrics.render(), content_type="text/plain; version=0.0.4; charset=utf-8")
