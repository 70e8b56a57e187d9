"""Bound request bodies before anything reads them.

Django reads (and spools to disk) a multipart body as soon as something asks for `request.POST`,
which the CSRF check does before any view or login check runs: a 200 MB upload by anyone would
be written to disk first. This middleware, early in the chain (once the language is known),
refuses a body whose declared length is over `REQUEST_MAX_BYTES` with 413 without reading a
byte. Django's WSGI handler reads
no more than the declared `Content-Length`, so a body without one is empty to Django. The web
server in front should enforce the same limit (docs/operations.md, "Behind a proxy").
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _


class RequestSizeLimitMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            declared = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return HttpResponse(_("The request is not valid."), status=400)
        if declared > settings.REQUEST_MAX_BYTES:
            response = HttpResponse(
                _("The request is too large (at most %(mb)s MB).")
                % {"mb": settings.REQUEST_MAX_BYTES // 2**20},
                status=413,
                content_type="text/plain; charset=utf-8",
            )
            # The unread body stays on the connection: close it rather than parse it.
            response["Connection"] = "close"
            return response
        return self.get_response(request)
