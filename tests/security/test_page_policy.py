"""Every response carries a Content-Security-Policy that allows no inline script without a
nonce, and the API docs load Swagger UI from the app's own static files."""

from __future__ import annotations

import re

import pytest
from django.test import Client

PAGES = ["/login/", "/password/reset/", "/api/docs", "/health/", "/no-such-page/", "/admin/login/"]


@pytest.mark.django_db
@pytest.mark.parametrize("path", PAGES)
def test_every_response_carries_a_strict_content_security_policy(path: str) -> None:
    policy = Client().get(path).headers.get("Content-Security-Policy", "")
    directives = {part.split()[0]: part.split()[1:] for part in policy.split(";") if part.strip()}
    assert directives["default-src"] == ["'self'"]
    script = directives["script-src"]
    assert "'unsafe-inline'" not in script and "'unsafe-eval'" not in script
    # django-csp adds the request's nonce only to pages that use it (`request.csp_nonce`).
    assert script[0] == "'self'"
    assert directives["object-src"] == ["'none'"]
    assert directives["frame-ancestors"] == ["'none'"]


@pytest.mark.django_db
def test_the_api_docs_load_swagger_ui_from_our_static_files() -> None:
    html = Client().get("/api/docs").content.decode()
    sources = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert any(s.endswith("swagger-ui-bundle.js") for s in sources), sources
    assert all(s.startswith("/") for s in sources), sources
    # No inline script: the settings travel as JSON data, which the policy does not execute.
    assert not re.search(r"<script(?![^>]*(?:src=|application/json))", html)


def test_no_template_has_an_inline_style_or_script_the_policy_would_block() -> None:
    """The policy allows no inline style and no script without the request's nonce: a
    `style="…"` attribute or an `on…=` handler in any template would be blocked in the browser
    (the payroll page's month links once were)."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "src" / "benefitsync"
    blocked = re.compile(
        r"""\sstyle=["']|\son[a-z]+=["']|<script(?![^>]*\bnonce=)(?![^>]*\bsrc=)"""
    )
    found = [
        f"{path.relative_to(root)}:{n}"
        for path in root.rglob("*.html")
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if blocked.search(line)
    ]
    assert not found, found
