"""Shared pieces of the browser tests: Debian's chromium, a sandbox Personio on loopback, the sync
job held in a list (the test plays the worker), a logged-in page, and screenshots on failure.

A failed browser test leaves a PNG of the page in `test-artifacts/` (git-ignored; CI keeps it):
the `hr_page` fixture takes it itself; for tests that drive their own page and save a
screenshot into `tmp_path`, the report hook below copies those PNGs there.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from django.conf import LazySettings

from benefitsync.integrations.personio.sandbox.server import SandboxHandle
from benefitsync.integrations.personio.sync import run as sync_run
from tests.conftest import fresh_sandbox
from tests.factories import PASSWORD

if TYPE_CHECKING:
    from playwright.sync_api import Page

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
REPO = Path(__file__).resolve().parents[2]
STATIC_DIR = REPO / "src" / "benefitsync" / "static"
ARTIFACTS = REPO / "test-artifacts"


def artifact_path(nodeid: str, suffix: str = "") -> Path:
    """`test-artifacts/<test id>[-suffix].png`, the test id made safe for a file name."""
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", nodeid.split("/")[-1]).strip("_")
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS / f"{name}{'-' + suffix if suffix else ''}.png"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    setattr(item, f"rep_{report.when}", report)
    if report.failed and report.when == "call":
        # Tests that take their own screenshot on failure put it into tmp_path: keep a copy.
        tmp = getattr(item, "funcargs", {}).get("tmp_path")
        if isinstance(tmp, Path) and tmp.is_dir():
            for index, png in enumerate(sorted(tmp.glob("*.png"))):
                target = artifact_path(item.nodeid, png.stem if index else "")
                shutil.copyfile(png, target)
                report.sections.append(("browser screenshot", str(target)))
    return report


@pytest.fixture
def chromium() -> str:
    if not Path(CHROMIUM).exists() and not shutil.which("chromium"):
        if os.environ.get("CI") == "true":
            pytest.fail(f"{CHROMIUM} is missing; CI must install Debian's chromium")
        pytest.skip(f"{CHROMIUM} is missing (apt-get install -y chromium); runs in CI")
    return CHROMIUM


@pytest.fixture
def sandbox(sandbox_server: SandboxHandle, settings: LazySettings) -> SandboxHandle:
    handle = fresh_sandbox(sandbox_server, employees=20, seed=11)
    settings.PERSONIO_BASE_URL = handle.base_url
    settings.PERSONIO_CLIENT_OPTIONS = {"retry_wait_scale": 0.001, "deadline": 20, "timeout": 5}
    return handle


@pytest.fixture
def queued_jobs(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Run ids the portal enqueued; the test plays the worker."""
    jobs: list[int] = []
    monkeypatch.setattr(sync_run, "run_sync", jobs.append)
    return jobs


@pytest.fixture
def browser_env(settings: LazySettings, monkeypatch: pytest.MonkeyPatch) -> None:
    # Playwright's sync API runs an event loop in this thread; the ORM calls the test makes
    # between page actions are still plain synchronous code.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    # The live server finds the portal's CSS and JS here (the package is not an app).
    if STATIC_DIR not in [Path(d) for d in getattr(settings, "STATICFILES_DIRS", [])]:
        settings.STATICFILES_DIRS = [*getattr(settings, "STATICFILES_DIRS", []), STATIC_DIR]


@pytest.fixture
def browser_page(
    request: pytest.FixtureRequest, chromium: str, browser_env: None
) -> Iterator[Page]:
    """A fresh chromium page (1280×900, 15 s timeouts); on a failed test its screenshot goes
    to `test-artifacts/`."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.set_default_timeout(15_000)
        try:
            yield page
        finally:
            report = getattr(request.node, "rep_call", None)
            if report is not None and report.failed:
                target = artifact_path(request.node.nodeid)
                try:
                    page.screenshot(path=str(target), full_page=True)
                    print(f"screenshot of the failed page: {target}")
                except Exception as exc:  # a crashed page must not hide the test's failure
                    print(f"no screenshot of the failed page: {exc}")
            browser.close()


@pytest.fixture
def log_in(live_server: Any) -> Callable[[Page, str], None]:
    """`log_in(page, email)` signs a factory user (password `tests.factories.PASSWORD`) in."""

    def do(page: Page, email: str) -> None:
        page.goto(f"{live_server.url}/login/")
        page.fill("input[name=username]", email)
        page.fill("input[type=password]", PASSWORD)
        page.click("main button[type=submit]")
        page.wait_for_url(lambda url: "/login/" not in url)

    return do
