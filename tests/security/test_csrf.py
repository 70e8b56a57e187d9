"""CSRF on every state change: every named URL, posted by every logged-in persona without a CSRF
token, is refused (403) or does not take POST at all (405), and nothing changes."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from tests.test_personas import (
    EMP_A,
    HR_A,
    SUPPORT,
    World,
    _snapshot,
    all_named_urls,
    url_for,
)

# Not a browser's: Personio's webhook deliveries carry a per-integration token instead, checked
# by the receiver (tests/sync/test_events.py: a wrong or missing token is 401, nothing recorded).
TOKEN_AUTHENTICATED = {"personio_webhook"}
NAMES = sorted({name for name, _route, _keys in all_named_urls()} - TOKEN_AUTHENTICATED)


@pytest.mark.django_db
@pytest.mark.parametrize("name", NAMES)
def test_posting_without_a_csrf_token_is_refused(name: str, world: World) -> None:
    keys = next(k for n, _r, k in all_named_urls() if n == name)
    url = url_for(name, keys, world, slug=world.company_a.slug)
    before = _snapshot(world)
    outcomes: dict[str, Any] = {}
    for persona in (HR_A, EMP_A, SUPPORT):
        client = Client(enforce_csrf_checks=True)
        client.force_login(world.users[persona])  # type: ignore[arg-type]
        outcomes[persona] = client.post(url).status_code
    assert set(outcomes.values()) <= {403, 405}, f"POST {url} without CSRF: {outcomes}"
    assert _snapshot(world) == before
