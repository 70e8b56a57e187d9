"""The portal speaks German: by the browser's language and through the language switch.

Also checks every gettext catalogue in the repository: nothing untranslated, nothing fuzzy, and the
placeholders of every translation are exactly those of its English text.
"""

from __future__ import annotations

import ast
import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import translation

from benefitsync.accounts.models import User
from benefitsync.benefits.models import BenefitType
from benefitsync.companies.models import Company
from benefitsync.employees.models import Employee, EmployeeStatus
from benefitsync.integrations.personio.models import PersonioIntegration
from benefitsync.lib import crypto
from tests.conftest import ClientFor
from tests.factories import make_benefit, make_employee

REPO = Path(__file__).resolve().parents[1]

# English phrases that must not be left on a German page.
ENGLISH = (
    "Leaving planned",
    "Employees",
    "Synchronize now",
    "Log in",
    "Log out",
    "Master data",
    "Last working month",
    "Monthly amount",
    "My benefits",
    "Integration active",
    "Personio integration",
    "Meal allowance",
)


@pytest.fixture(autouse=True)
def _english_afterwards() -> Iterator[None]:
    # A German request leaves its language active in the thread; later tests expect English.
    yield
    translation.activate("en")


def german(client: Client, url: str) -> str:
    response = client.get(url, headers={"accept-language": "de"})
    assert response.status_code == 200, url
    html = response.content.decode()
    assert '<html lang="de">' in html, url
    left = [phrase for phrase in ENGLISH if phrase in html]
    assert not left, f"{url} still shows {left}"
    return html


@pytest.fixture
def staff(company_a: Company) -> dict[str, Employee]:
    active = make_employee(company_a, first_name="Aylin", last_name="Aktiv")
    leaving = make_employee(
        company_a,
        first_name="Lena",
        last_name="Geht",
        status=EmployeeStatus.LEAVING,
        leaving_date=dt.date(2099, 3, 31),
        last_working_month=dt.date(2099, 3, 1),
    )
    left = make_employee(company_a, first_name="Lars", last_name="Weg", status=EmployeeStatus.LEFT)
    make_benefit(active, kind=BenefitType.MEAL, monthly_amount=Decimal("1234.50"))
    return {"active": active, "leaving": leaving, "left": left}


def test_the_login_page_speaks_german(client: Client) -> None:
    html = german(client, reverse("accounts:login"))
    assert "Anmelden" in html and "E-Mail-Adresse" in html and "Passwort" in html


def test_a_wrong_password_is_refused_in_german(client: Client, hr_a: User) -> None:
    response = client.post(
        reverse("accounts:login"),
        {"username": hr_a.email, "password": "wrong"},
        headers={"accept-language": "de"},
    )
    assert "Bitte" in response.content.decode()  # Django's own German refusal


def test_the_employee_list_and_detail_pages_speak_german(
    company_a: Company, hr_a: User, client_for: ClientFor, staff: dict[str, Employee]
) -> None:
    client = client_for(hr_a)
    html = german(client, reverse("employees:list", kwargs={"slug": company_a.slug}))
    assert "Mitarbeitende" in html
    for status in ("Aktiv", "Austritt geplant", "Ausgetreten"):
        assert status in html
    assert "letzter Arbeitsmonat März 2099" in html

    def detail(name: str) -> str:
        url = reverse("employees:detail", kwargs={"slug": company_a.slug, "pk": staff[name].pk})
        return german(client, url)

    html = detail("active")
    assert "Aktiv" in html and "Stammdaten" in html and "Personalnummer" in html
    assert "Essenszuschuss" in html and "Monatsbetrag" in html
    assert "1234,50 €" in html or "1.234,50 €" in html  # money in the German format

    html = detail("leaving")
    assert "Austritt geplant" in html and "letzter Arbeitsmonat März 2099" in html
    assert "Letzter Arbeitsmonat" in html and "31.03.2099" in html  # the leaving date, localized

    html = detail("left")
    assert "Ausgetreten" in html


def test_the_benefit_form_speaks_german(
    company_a: Company, hr_a: User, client_for: ClientFor, staff: dict[str, Employee]
) -> None:
    employee_id = staff["active"].pk
    url = reverse("benefits:add", kwargs={"slug": company_a.slug, "employee_id": employee_id})
    html = german(client_for(hr_a), url)
    for text in ("Benefit hinzufügen", "Startmonat", "Endmonat", "Essenszuschuss", "Sachbezug"):
        assert text in html


def test_the_personio_page_speaks_german(
    company_a: Company, hr_a: User, client_for: ClientFor
) -> None:
    url = reverse("personio:integration", kwargs={"slug": company_a.slug})
    client = client_for(hr_a)
    assert "Personio verbinden" in german(client, url)
    PersonioIntegration.objects.update_or_create(  # the page made a disconnected one
        company=company_a,
        defaults={
            "status": "active",
            "client_id": "x",
            "client_secret_encrypted": crypto.encrypt("y"),
        },
    )
    html = german(client, url)
    assert "Personio-Integration" in html and "Integration aktiv" in html
    assert "Jetzt synchronisieren" in html


def test_the_employee_area_speaks_german(
    employee_a: User, client_for: ClientFor, company_a: Company
) -> None:
    make_benefit(employee_a.employee, kind=BenefitType.INTERNET, monthly_amount=Decimal("25"))
    html = german(client_for(employee_a), reverse("employee_area:home"))
    for text in ("Meine Benefits", "Aktiv", "Internetzuschuss", "25,00 €", "Belege", "Gutschein"):
        assert text in html
    html = german(client_for(employee_a), reverse("employee_area:receipts"))
    assert "Beleg einreichen" in html


def test_the_language_switch_turns_every_page_german(
    company_a: Company, hr_a: User, client_for: ClientFor, staff: dict[str, Employee]
) -> None:
    client = client_for(hr_a)
    employees = reverse("employees:list", kwargs={"slug": company_a.slug})
    assert "Leaving planned" in client.get(employees).content.decode()  # English by default
    response = client.post(reverse("set_language"), {"language": "de", "next": employees})
    assert response.status_code == 302 and response["Location"] == employees
    html = client.get(employees).content.decode()
    assert "Austritt geplant" in html and "Mitarbeitende" in html and "Employees" not in html
    detail = reverse("employees:detail", kwargs={"slug": company_a.slug, "pk": staff["left"].pk})
    assert "Ausgetreten" in client.get(detail).content.decode()
    client.post(reverse("set_language"), {"language": "en", "next": employees})
    assert "Leaving planned" in client.get(employees).content.decode()


# --- the catalogues ----------------------------------------------------------------------------


@dataclass
class Entry:
    line: int
    context: str | None = None
    msgid: str | None = None
    plural: str | None = None
    msgstr: dict[int, str] = field(default_factory=dict)
    flags: set[str] = field(default_factory=set)


def parse_po(text: str) -> list[Entry]:
    """The entries of a .po file (obsolete `#~` entries are left out)."""
    entries: list[Entry] = []
    entry: Entry | None = None
    target: tuple[str, int] = ("", 0)
    for number, raw in enumerate([*text.splitlines(), ""], start=1):
        line = raw.strip()
        if not line:
            if entry is not None and entry.msgid is not None:
                entries.append(entry)
            entry = None
            continue
        if entry is None:
            entry = Entry(line=number)
        if line.startswith("#,"):
            entry.flags |= {flag.strip() for flag in line[2:].split(",")}
            continue
        if line.startswith("#"):
            continue
        match = re.fullmatch(r'(msgctxt|msgid_plural|msgid|msgstr(?:\[(\d+)\])?)\s+(".*")', line)
        if match:
            keyword, index, literal = match.groups()
            target = (keyword.split("[")[0], int(index or 0))
            value = ast.literal_eval(literal)
        elif line.startswith('"'):
            value = ast.literal_eval(line)
        else:
            raise AssertionError(f"line {number}: cannot read {raw!r}")
        kind, index_ = target
        if kind == "msgctxt":
            entry.context = (entry.context or "") + value
        elif kind == "msgid":
            entry.msgid = (entry.msgid or "") + value
        elif kind == "msgid_plural":
            entry.plural = (entry.plural or "") + value
        else:
            entry.msgstr[index_] = entry.msgstr.get(index_, "") + value
    return entries


PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|\{\w*\}")
CATALOGUES = sorted(
    path
    for path in (REPO / "src").rglob("*.po")
    if not any(part.startswith(".") or part == "node_modules" for part in path.parts)
)


def test_the_catalogues_are_found() -> None:
    names = {str(path.relative_to(REPO / "src" / "benefitsync")) for path in CATALOGUES}
    assert "locale/de/LC_MESSAGES/django.po" in names
    assert len(names) >= 4


@pytest.mark.parametrize("path", CATALOGUES, ids=lambda p: str(p.relative_to(REPO)))
def test_every_catalogue_is_fully_translated(path: Path) -> None:
    entries = parse_po(path.read_text(encoding="utf-8"))
    header, messages = entries[0], entries[1:]
    assert header.msgid == "" and "charset=UTF-8" in header.msgstr[0]
    assert messages
    problems = []
    for entry in messages:
        where = f"{path.name}:{entry.line} {entry.msgid!r}"
        if "fuzzy" in entry.flags:
            problems.append(f"fuzzy: {where}")
        if not entry.msgstr or not all(entry.msgstr.values()):
            problems.append(f"untranslated: {where}")
            continue
        english = set(PLACEHOLDER.findall(entry.msgid or "")) | set(
            PLACEHOLDER.findall(entry.plural or "")
        )
        forms = [set(PLACEHOLDER.findall(text)) for text in entry.msgstr.values()]
        # Every form uses only known placeholders; together (a singular may spell out "one")
        # they use all of them.
        if any(not form <= english for form in forms) or set().union(*forms) != english:
            problems.append(f"placeholders {forms} instead of {english}: {where}")
    assert not problems, "\n".join(problems)


def test_the_compiled_catalogue_is_not_older_than_its_source() -> None:
    # CI has no gettext tools: the .mo is committed and must hold every translation of the .po.
    from django.utils.translation import trans_real

    po = REPO / "src/benefitsync/locale/de/LC_MESSAGES/django.po"
    mo = po.with_suffix(".mo")
    assert mo.exists()
    catalog = trans_real.translation("de")
    for entry in parse_po(po.read_text(encoding="utf-8"))[1:]:
        if entry.plural is None:
            key = entry.msgid if entry.context is None else f"{entry.context}\x04{entry.msgid}"
            assert catalog._catalog.get(key) == entry.msgstr[0], entry.msgid  # type: ignore[attr-defined]


def test_a_held_run_and_its_skips_are_told_in_the_readers_language(
    company_a: Company, hr_a: User, client_for: ClientFor
) -> None:
    from benefitsync.integrations.personio.models import RunStatus, SyncEvent, SyncRun
    from benefitsync.integrations.personio.texts import Note

    PersonioIntegration.objects.create(
        company=company_a, status="active", client_id="x", client_secret_encrypted="y"
    )
    held = SyncRun.objects.create(
        company=company_a,
        trigger="daily",
        status=RunStatus.HELD,
        hold_reasons=[Note("mass_leaving", {"leavers": 7, "active": 9}).as_json()],
        plan={"actions": [], "unchanged": 0, "filtered_out": 0, "remote_total": 0},
    )
    skipped = SyncRun.objects.create(company=company_a, trigger="daily", status="partly_failed")
    SyncEvent.objects.create(
        run=skipped,
        company=company_a,
        personio_id=42,
        action="skip",
        code="hire_after_leaving",
        params={"hire": "2026-12-01", "leaving": "2026-11-30", "name": "Ida Irrtum"},
        error=True,
    )
    client = client_for(hr_a)
    page = german(client, reverse("personio:integration", kwargs={"slug": company_a.slug}))
    assert "7 von 9 aktiven Mitarbeitenden würden austreten oder fehlen" in page
    detail = german(client, reverse("personio:run", kwargs={"slug": company_a.slug, "pk": held.pk}))
    assert "würden austreten oder fehlen" in detail and "would become" not in detail
    skips = german(
        client, reverse("personio:run", kwargs={"slug": company_a.slug, "pk": skipped.pk})
    )
    assert "Ida Irrtum" in skips
    assert "Eintrittsdatum 2026-12-01 liegt nach dem Austrittsdatum 2026-11-30" in skips
    assert "is after the leaving date" not in skips
    english = client.get(
        reverse("personio:run", kwargs={"slug": company_a.slug, "pk": skipped.pk}),
        headers={"accept-language": "en"},
    ).content.decode()
    assert "hire date 2026-12-01 is after the leaving date 2026-11-30" in english
