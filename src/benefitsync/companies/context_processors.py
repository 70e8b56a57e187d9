from __future__ import annotations

from typing import Any

from django.http import HttpRequest


def current_company(request: HttpRequest) -> dict[str, Any]:
    """Expose the company a view resolved (views set `request.company`) to every template."""
    return {"company": getattr(request, "company", None)}
