"""The endpoint Personio delivers webhook events to: `POST /hooks/personio/<key>/`.

Public (Personio is not logged in) and CSRF-exempt (it is no browser form): the token Personio
sends in `Authorization` is what authenticates it, checked in constant time by
`webhooks.receive`. It only records and schedules, so it answers within Personio's 3 seconds
whatever Personio's API is doing.
"""

from __future__ import annotations

import uuid

from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

from benefitsync.accounts import access
from benefitsync.integrations.personio import webhooks


@access.public("POST")
@csrf_exempt
def receive(request: HttpRequest, key: uuid.UUID) -> HttpResponse:
    length = int(request.headers.get("Content-Length") or 0)
    if length > webhooks.MAX_BODY_BYTES:
        return HttpResponse(status=413)
    body = request.body
    if len(body) > webhooks.MAX_BODY_BYTES:
        return HttpResponse(status=413)
    status = webhooks.receive(key, request.headers.get("Authorization", ""), body)
    return HttpResponse(status=status)
