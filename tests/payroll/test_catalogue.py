"""The payroll app's German catalogue agrees with every other catalogue.

Django merges all catalogues into one; where two translate the same English text differently,
the order of INSTALLED_APPS silently decides, and the payroll app (listed before the Personio
integration) would rename words on other pages ("Created": "Angelegt" on a sync run)."""

from __future__ import annotations

from pathlib import Path

from tests.test_german import CATALOGUES, parse_po

PAYROLL = next(path for path in CATALOGUES if "payroll" in path.parts)


def test_payroll_translates_shared_texts_like_every_other_catalogue() -> None:
    ours = {(e.context, e.msgid): e.msgstr for e in parse_po(PAYROLL.read_text("utf-8"))[1:]}
    clashes = []
    for path in CATALOGUES:
        if path == PAYROLL:
            continue
        for entry in parse_po(Path(path).read_text("utf-8"))[1:]:
            key = (entry.context, entry.msgid)
            if key in ours and ours[key] != entry.msgstr:
                clashes.append(f"{entry.msgid!r}: {ours[key]} here, {entry.msgstr} in {path}")
    assert not clashes, "\n".join(clashes)
