"""A real browser loads every kind of page under the Content-Security-Policy without a single
violation, and the API docs' Swagger UI comes from the app's own static files."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from benefitsync.accounts.models import User
from benefitsync.companies.models import Company

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _watch(page: Page) -> tuple[list[str], list[str]]:
    violations: list[str] = []
    requested: list[str] = []
    page.on(
        "console",
        lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None,
    )
    page.on("request", lambda r: requested.append(r.url))
    return violations, requested


@pytest.mark.parametrize("language", ["en", "de"])
def test_pages_and_api_docs_load_without_policy_violations(
    language: str,
    browser_page: Page,
    live_server: Any,
    log_in: Callable[[Page, str], None],
    company_a: Company,
    hr_a: User,
    tmp_path: Path,
) -> None:
    page = browser_page
    page.context.add_cookies(
        [{"name": "django_language", "value": language, "url": live_server.url}]
    )
    violations, requested = _watch(page)
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_server.url}/password/reset/")
    page.screenshot(path=str(tmp_path / f"reset-{language}.png"))
    log_in(page, hr_a.email)
    page.goto(f"{live_server.url}/c/{company_a.slug}/employees/")
    page.wait_for_load_state("networkidle")
    page.goto(f"{live_server.url}/api/docs")
    page.wait_for_selector(".swagger-ui .opblock", timeout=15_000)
    page.screenshot(path=str(tmp_path / f"docs-{language}.png"))
    assert violations == []
    outside = [u for u in requested if not u.startswith((live_server.url, "data:"))]
    assert outside == [], "everything comes from the app itself"
