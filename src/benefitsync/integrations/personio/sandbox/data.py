"""The sandbox's attribute catalogue and its seeded, realistic (Faker de_DE) employee generator.

Deterministic: the same `seed` and `today` always produce the same employees.
"""

from __future__ import annotations

import random
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any, Literal

from faker import Faker

from ..schemas import PERSONIO_TZ

Kind = Literal["id", "text", "date", "timestamp", "object", "cost_centers", "custom"]


@dataclass(frozen=True)
class AttributeDef:
    """One v1 employee attribute: its key, label, Personio type and how the sandbox renders it.

    `empty` is what Personio sends when the value is unset — Personio is not consistent, so
    neither is the sandbox: text usually `""`, dates `null`, lists/tags `[]`.
    """

    key: str
    label: str
    type: str  # Personio's TypeEnum: standard, date, integer, decimal, list, link, tags, multiline
    kind: Kind
    universal_id: str | None = None
    object_type: str | None = None
    options: tuple[str, ...] = ()
    empty: Any = ""
    writable: bool = True


SUBCOMPANIES: dict[str, str] = {
    "Nordlicht Services GmbH": "nordlicht-services.de",
    "Alpenblick Consulting GmbH": "alpenblick-consulting.de",
    "Rheinwerk Logistik GmbH": "rheinwerk-logistik.de",
    "Spreewald Digital AG": "spreewald-digital.de",
}
OFFICES = ("Berlin", "München", "Hamburg", "Köln", "Leipzig")
DEPARTMENTS = ("Vertrieb", "Marketing", "Engineering", "Personal", "Finanzen", "Kundenservice")
POSITIONS = (
    "Sachbearbeiter:in",
    "Teamleitung",
    "Softwareentwickler:in",
    "Account Manager:in",
    "Werkstudent:in",
    "Projektmanager:in",
    "Lagerist:in",
    "Buchhalter:in",
)
LANGUAGES = ("Deutsch", "Englisch", "Französisch", "Spanisch", "Polnisch", "Türkisch")

STANDARD: tuple[AttributeDef, ...] = (
    AttributeDef("id", "ID", "integer", "id", "id", writable=False),
    AttributeDef("first_name", "First name", "standard", "text", "first_name"),
    AttributeDef("last_name", "Last name", "standard", "text", "last_name"),
    AttributeDef("preferred_name", "Name (preferred)", "standard", "text", "preferred_name"),
    AttributeDef("email", "Email", "standard", "text", "email"),
    AttributeDef("gender", "Gender", "standard", "text", "gender"),
    AttributeDef("status", "Status", "standard", "text", "status"),
    AttributeDef("position", "Position", "standard", "text", "position"),
    AttributeDef("employment_type", "Employment type", "standard", "text", "employment_type"),
    AttributeDef(
        "weekly_working_hours", "Weekly hours", "standard", "text", "weekly_working_hours"
    ),
    AttributeDef("hire_date", "Hire date", "date", "date", "hire_date", empty=None),
    AttributeDef(
        "contract_end_date", "Contract ends", "date", "date", "contract_end_date", empty=None
    ),
    AttributeDef(
        "termination_date", "Termination date", "date", "date", "termination_date", empty=None
    ),
    AttributeDef(
        "termination_type", "Termination type", "standard", "text", "termination_type", empty=None
    ),
    AttributeDef(
        "termination_reason",
        "Termination reason",
        "standard",
        "text",
        "termination_reason",
        empty=None,
    ),
    AttributeDef("created_at", "created_at", "date", "timestamp", "created_at", writable=False),
    AttributeDef(
        "last_modified_at", "Last modified", "date", "timestamp", "last_modified_at", writable=False
    ),
    AttributeDef(
        "subcompany", "Subcompany", "standard", "object", "subcompany", "Subcompany", empty=None
    ),
    AttributeDef("office", "Office", "standard", "object", "office", "Office", empty=None),
    AttributeDef(
        "department", "Department", "standard", "object", "department", "Department", empty=None
    ),
    AttributeDef(
        "cost_centers", "Cost center", "standard", "cost_centers", "cost_centers", empty=[]
    ),
)

CUSTOM: tuple[AttributeDef, ...] = (
    # Personio calls integers "such as the Personalnummer" numbers, yet v1 hands many numbers
    # out as strings; the sandbox does the same.
    AttributeDef("dynamic_4187001", "Personalnummer", "integer", "custom"),
    AttributeDef("dynamic_4187002", "Verheiratet?", "list", "custom", options=("Ja", "Nein")),
    AttributeDef("dynamic_4187003", "Probonio Filter", "standard", "custom"),
    AttributeDef("dynamic_4187004", "Geburtstag", "date", "custom", "date_of_birth", empty=None),
    AttributeDef("dynamic_4187005", "Sprachen", "tags", "custom", options=LANGUAGES, empty=[]),
    AttributeDef("dynamic_4187006", "IBAN", "standard", "custom", "iban"),
)

ALL_ATTRIBUTES: tuple[AttributeDef, ...] = STANDARD + CUSTOM
BY_KEY: dict[str, AttributeDef] = {a.key: a for a in ALL_ATTRIBUTES}
BY_LABEL: dict[str, AttributeDef] = {a.label: a for a in CUSTOM}


def object_id(kind: str, name: str) -> int:
    """Stable ids for subcompanies/offices/departments/cost centres, derived from the name."""
    return 1000 + sum((i + 1) * ord(c) for i, c in enumerate(f"{kind}:{name}")) % 900_000


@dataclass
class SandboxEmployee:
    """An employee in the sandbox: plain values keyed by v1 attribute key (custom by dynamic_N).

    Dates are `date`, timestamps aware datetimes, objects by name, cost centres a list of names,
    tags a list of strings. `status` holds the status set by HR ("active", "leave",
    "onboarding", "inactive"); the status Personio reports is derived from it and the dates
    (see `effective_status`). `changed_at` records when each attribute last changed, for
    `updated_since` combined with `attributes[]`.
    """

    id: int
    values: dict[str, Any]
    created_at: datetime
    last_modified_at: datetime
    changed_at: dict[str, datetime] = field(default_factory=dict)

    def effective_status(self, today: date) -> str:
        termination: date | None = self.values.get("termination_date")
        hire: date | None = self.values.get("hire_date")
        # Personio sets the status to inactive once the termination date has passed, i.e. the
        # day after it (the termination date itself is the last day of employment).
        if termination is not None and today > termination:
            return "inactive"
        status = str(self.values.get("status") or "active")
        if hire is not None and hire > today and status in ("active", "onboarding"):
            return "onboarding"
        if status == "onboarding":
            return "active"
        return status


def _ascii(text: str) -> str:
    text = text.replace("ß", "ss").replace("ä", "ae").replace("ö", "oe").replace("ü", "ue")
    text = text.replace("Ä", "Ae").replace("Ö", "Oe").replace("Ü", "Ue")
    norm = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(c for c in norm.lower() if c.isalnum() or c in ".-")


def _month_start(d: date, months: int) -> date:
    y, m = divmod(d.month - 1 + months, 12)
    return date(d.year + y, m + 1, 1)


def generate_employees(count: int, seed: int, today: date) -> list[SandboxEmployee]:
    """`count` realistic employees: subcompanies with their own e-mail domains, ~5 % leavers
    (past month, this month, future), ~3 % onboarding, ~3 % on leave, ~1.5 % without e-mail."""
    rng = random.Random(seed)
    fake = Faker("de_DE")
    fake.seed_instance(seed)
    # Name pools from Faker once; combining them with `rng` is fast enough for 100,000 people.
    female = [fake.first_name_female() for _ in range(300)]
    male = [fake.first_name_male() for _ in range(300)]
    last = [fake.last_name() for _ in range(600)]
    subcompanies = list(SUBCOMPANIES)
    weights = [45, 25, 20, 10]
    emails: set[str] = set()
    # Every generated change lies before `today` began: with `today` pinned, the sandbox clock is
    # that date at the real time of day, which is as early as 00:00 just after midnight, and no
    # record may look modified in the sandbox's future (`updated_since` would select it).
    now_anchor = datetime.combine(today, time(0, 0), PERSONIO_TZ)
    employees: list[SandboxEmployee] = []
    next_id = 1_000_001
    for i in range(count):
        next_id += rng.choice((1, 1, 1, 2, 3))
        gender = rng.choices(("female", "male", "diverse"), (48, 48, 4))[0]
        first = rng.choice(
            female if gender == "female" else male if gender == "male" else female + male
        )
        surname = rng.choice(last)
        sub = rng.choices(subcompanies, weights)[0]
        local = f"{_ascii(first)}.{_ascii(surname)}"
        email = f"{local}@{SUBCOMPANIES[sub]}"
        n = 2
        while email in emails:
            email = f"{local}{n}@{SUBCOMPANIES[sub]}"
            n += 1
        emails.add(email)
        roll = rng.random()
        hire = today - timedelta(days=rng.randint(30, 15 * 365))
        termination: date | None = None
        status = "active"
        if roll < 0.05:  # leavers: a third each in a past month, this month, a future month
            kind = i % 3
            if kind == 0:
                termination = _month_start(today, -rng.randint(1, 18)) + timedelta(
                    days=rng.randint(0, 27)
                )
            elif kind == 1:
                termination = _month_start(today, 1) - timedelta(days=rng.randint(1, 28))
                termination = max(termination, _month_start(today, 0))
            else:
                termination = _month_start(today, rng.randint(1, 6)) + timedelta(
                    days=rng.randint(0, 27)
                )
            hire = min(hire, termination - timedelta(days=60))
        elif roll < 0.08:
            hire = today + timedelta(days=rng.randint(1, 60))
            status = "onboarding"
        elif roll < 0.11:
            status = "leave"
        created = datetime.combine(
            hire - timedelta(days=rng.randint(7, 60)), time(9, 0), PERSONIO_TZ
        )
        created += timedelta(minutes=rng.randint(0, 8 * 60))
        created = min(created, now_anchor - timedelta(days=1))
        modified = created + (now_anchor - created) * rng.random()
        modified = modified.replace(microsecond=0)
        values: dict[str, Any] = {
            "first_name": first,
            "last_name": surname,
            "preferred_name": f"{first} {surname}",
            "email": "" if rng.random() < 0.015 else email,
            "gender": gender,
            "status": status,
            "position": rng.choice(POSITIONS),
            "employment_type": "external" if rng.random() < 0.06 else "internal",
            "weekly_working_hours": rng.choice(("40", "40", "40", "38.5", "32", "30", "20")),
            "hire_date": hire,
            "contract_end_date": None,
            "termination_date": termination,
            "termination_type": "Kündigung durch Arbeitnehmer" if termination else None,
            "termination_reason": "Neue Herausforderung" if termination else None,
            "subcompany": sub,
            "office": rng.choice(OFFICES),
            "department": rng.choice(DEPARTMENTS),
            "cost_centers": [f"KST {rng.randint(100, 140)}"] if rng.random() < 0.7 else [],
            "dynamic_4187001": "" if rng.random() < 0.01 else str(10000 + i),
            "dynamic_4187002": rng.choices(("Ja", "Nein", ""), (45, 45, 10))[0],
            "dynamic_4187003": rng.choices(("ja", "Yes", "TRUE", "nein", ""), (40, 15, 10, 15, 20))[
                0
            ],
            "dynamic_4187004": date(
                rng.randint(1960, 2004), rng.randint(1, 12), rng.randint(1, 28)
            ),
            "dynamic_4187005": sorted(rng.sample(LANGUAGES, rng.choice((0, 1, 1, 2)))),
            "dynamic_4187006": "DE" + "".join(str(rng.randint(0, 9)) for _ in range(20)),
        }
        employees.append(
            SandboxEmployee(
                id=next_id,
                values=values,
                created_at=created.replace(microsecond=0),
                last_modified_at=modified,
                changed_at=dict.fromkeys(values, modified),
            )
        )
    return employees
