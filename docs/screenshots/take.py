"""Take the README's screenshots: the live app with demo data against a sandbox Personio.

    .venv/bin/python docs/screenshots/take.py [--out DIR] [--chromium /usr/bin/chromium]

Everything runs in this process on a throw-away data directory (nothing in ./var is touched):
migrate, load the demo data, start a sandbox Personio (30 employees) and the web app on free
loopback ports, then drive Debian's chromium through Playwright (never `playwright install`):
connect Personio, synchronize, make a sandbox employee a leaver, synchronize again, and save
PNGs at 1280×800 (the phone one at 390×844). Sync jobs run inside the request
(`HUEY_IMMEDIATE=true`), so each page already shows the finished synchronization.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import tempfile
import threading
from decimal import Decimal
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
VIEWPORT = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
LIMIT = 150_000  # bytes per PNG


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent)
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="benefitsync-shots-") as data_dir:
        os.environ.update(
            {
                "BENEFITSYNC_DATA_DIR": data_dir,
                "HUEY_IMMEDIATE": "true",
                "LOG_LEVEL": "WARNING",
                "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
                "DJANGO_SETTINGS_MODULE": "benefitsync.settings",
                # Playwright's sync API runs an event loop in this thread.
                "DJANGO_ALLOW_ASYNC_UNSAFE": "true",
            }
        )
        os.environ.pop("DATABASE_URL", None)
        os.environ.pop("REDIS_URL", None)
        return take(args.out, args.chromium)


def take(out: Path, chromium: str) -> int:
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.staticfiles.handlers import StaticFilesHandler
    from django.core.management import call_command
    from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler
    from django.core.wsgi import get_wsgi_application
    from playwright.sync_api import Page, expect, sync_playwright

    from benefitsync.companies.models import Company
    from benefitsync.employees.models import Employee, EmployeeStatus
    from benefitsync.employees.services import company_today
    from benefitsync.integrations.personio.sandbox.server import running_sandbox
    from benefitsync.lib.months import Month
    from benefitsync.ops.demo import load_demo

    class QuietHandler(WSGIRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

    call_command("migrate", verbosity=0, interactive=False)
    logins = load_demo()
    out.mkdir(parents=True, exist_ok=True)
    saved: list[Path] = []

    def shot(page: Page, name: str) -> None:
        path = out / name
        page.screenshot(path=str(path), type="png", animations="disabled", caret="hide")
        saved.append(path)

    with running_sandbox(employees=30, seed=11) as sandbox:
        settings.PERSONIO_BASE_URL = sandbox.base_url
        server = ThreadedWSGIServer(("127.0.0.1", 0), QuietHandler, allow_reuse_address=False)
        server.set_app(StaticFilesHandler(get_wsgi_application()))
        threading.Thread(target=server.serve_forever, daemon=True).start()
        base = f"http://127.0.0.1:{server.server_address[1]}"
        personio = f"{base}/c/{logins.company_slug}/personio/"
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(
                    executable_path=chromium, args=["--no-sandbox", "--disable-gpu"]
                )
                context = browser.new_context(viewport=VIEWPORT, locale="en-US")
                page = context.new_page()
                page.set_default_timeout(30_000)
                page.goto(f"{base}/login/")
                page.fill("input[name=username]", logins.hr_email)
                page.fill("input[type=password]", logins.hr_password)
                page.click("main button[type=submit]")
                page.wait_for_url(lambda url: "/login/" not in url)

                # Steps 7-8: connect; the first sync runs within the request.
                page.goto(personio)
                page.fill("#id_client_id", sandbox.client_id)
                page.fill("#id_client_secret", sandbox.client_secret)
                page.click("main button:has-text('Connect')")
                expect(page.locator("#integration-status")).to_have_text("Integration active")

                # A leaver in Personio, then "Synchronize now".
                today = company_today(Company.objects.get(slug=logins.company_slug))
                leaving = Month.of(today).next().first_day + dt.timedelta(days=14)
                leaver = (
                    Employee.objects.filter(personio_id__isnull=False, status=EmployeeStatus.ACTIVE)
                    .exclude(email="")
                    .order_by("last_name")
                    .first()
                )
                assert leaver is not None and leaver.personio_id is not None
                sandbox.state.patch_employee(
                    leaver.personio_id, {"termination_date": leaving.isoformat()}
                )
                page.click("button:has-text('Synchronize now')")
                expect(page.locator(".messages")).to_contain_text("Synchronization started")
                page.goto(personio)  # the finished sync in "Last sync" / "Result"
                expect(page.locator("dl.facts")).to_contain_text("1 leaving")
                shot(page, "integration-active.png")

                page.click("dl.facts a")  # the last run's detail
                expect(page.locator("h1")).to_contain_text("#")
                shot(page, "run.png")

                page.goto(f"{base}/c/{logins.company_slug}/employees/")
                shot(page, "employees.png")

                page.goto(f"{base}/c/{logins.company_slug}/employees/{leaver.pk}/")
                expect(page.locator(".status-line")).to_contain_text("Leaving planned")
                shot(page, "employee-leaving.png")

                # The benefits desk: an employee (German) submits two receipts; the HR admin
                # previews one and approves it, rejects the other with a reason.
                employee, password = _employee_with_receipts(leaver.company_id, today)
                page.goto(f"{base}/c/{logins.company_slug}/benefits/receipts/")
                expect(page.locator("#receipts tbody tr")).to_have_count(2)
                shot(page, "receipts.png")
                page.locator("#receipts tbody tr").first.get_by_role("link", name="Check").click()
                expect(page.locator("img.preview")).to_be_visible()
                shot(page, "receipt-decide.png")
                page.click("button[value=approve]")
                page.fill("#reject-reason", "Bitte den Beleg mit Einzelposten hochladen.")
                page.click("button[value=reject]")
                expect(page.locator("main")).to_contain_text("No receipt is waiting")

                me = browser.new_context(viewport=VIEWPORT, locale="de-DE")
                employee_page = me.new_page()
                employee_page.goto(f"{base}/login/")
                employee_page.fill("input[name=username]", employee)
                employee_page.fill("input[type=password]", password)
                employee_page.click("main button[type=submit]")
                employee_page.wait_for_url(lambda url: "/login/" not in url)
                employee_page.goto(f"{base}/me/receipts/")
                expect(employee_page.locator("#my-receipts")).to_contain_text("Abgelehnt")
                shot(employee_page, "employee-receipts.png")
                me.close()

                page.set_viewport_size(PHONE)
                page.goto(personio)
                shot(page, "phone.png")
                browser.close()
        finally:
            server.shutdown()
            server.server_close()

    too_big = False
    for path in saved:
        size = path.stat().st_size
        too_big |= size > LIMIT
        print(f"{path.relative_to(REPO) if path.is_relative_to(REPO) else path}: {size // 1024} KB")
    if too_big:
        print(f"some PNGs exceed {LIMIT // 1000} KB", file=sys.stderr)
        return 1
    return 0


def _employee_with_receipts(company_id: int, today: dt.date) -> tuple[str, str]:
    """A signed-up employee with a meal allowance and two receipts submitted in German (a PNG
    drawn in the preview, and a PDF); returns their login."""
    import struct
    import zlib

    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.utils import translation

    from benefitsync.accounts.models import User
    from benefitsync.benefits.models import BenefitType, EmployeeBenefit
    from benefitsync.benefits.receipts import do_submit_receipt
    from benefitsync.employees.models import Employee, EmployeeStatus
    from benefitsync.lib.months import Month

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    width, height = 360, 480  # a pale receipt with a few grey "lines"
    rows = [
        b"\x00" + (b"\x70\x70\x70" if y % 40 in (20, 21) and 30 < y < 420 else b"\xfa\xf7\xee")
        * width
        for y in range(height)
    ]
    png = (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(b"".join(rows)))
        + chunk(b"IEND", b"")
    )
    pdf = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
    employee = (
        Employee.objects.filter(company_id=company_id, status=EmployeeStatus.ACTIVE, user=None)
        .exclude(email="")
        .order_by("last_name")
        .last()
    )
    assert employee is not None
    password = "Receipts-Demo-2026"
    employee.user = User.objects.create_user(employee.email, password)
    employee.save(update_fields=["user"])
    meal = EmployeeBenefit.objects.create(
        company_id=company_id,
        employee=employee,
        kind=BenefitType.MEAL,
        monthly_amount=Decimal("100.00"),
        start_month=Month.of(today).previous().first_day,
    )
    with translation.override("de"):
        for amount, name, content in (("24.90", "bistro.png", png), ("38.50", "k.pdf", pdf)):
            do_submit_receipt(
                employee,
                benefit=meal,
                month=Month.of(today),
                amount=Decimal(amount),
                upload=SimpleUploadedFile(name, content),
                today=today,
                acting_user=None,
            )
    return employee.email, password


if __name__ == "__main__":
    sys.path.insert(0, str(REPO / "src"))
    sys.exit(main())
