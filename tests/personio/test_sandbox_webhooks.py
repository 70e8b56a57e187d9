"""The sandbox speaks Personio v2 tokens and webhooks: over real HTTP, delivering to a real
receiver on 127.0.0.1."""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from typing import Any

import httpx
import pytest
from tests.personio.conftest import TODAY
from tests.personio.webhook_receiver import Answer, Receiver, running_receiver

from benefitsync.integrations.personio.sandbox import SandboxHandle
from benefitsync.integrations.personio.sandbox.state import SandboxState, employment_id
from benefitsync.integrations.personio.schemas import PERSONIO_TZ

ALL_EVENTS = [
    "person.created",
    "person.updated",
    "person.deleted",
    "employment.created",
    "employment.updated",
    "employment.deleted",
    "employment.started",
    "employment.terminated",
]
HOOK_TOKEN = "whk-3f9c2a7e5b1d"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running_receiver() as r:
        yield r


def v2_token(
    sandbox: SandboxHandle,
    client_id: str | None = None,
    secret: str | None = None,
    **extra: str,
) -> httpx.Response:
    return httpx.post(
        f"{sandbox.base_url}/v2/auth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": client_id or sandbox.client_id,
            "client_secret": secret or sandbox.client_secret,
            **extra,
        },
    )


def bearer(sandbox: SandboxHandle) -> dict[str, str]:
    token = v2_token(sandbox).json()["access_token"]
    return {"Authorization": f"Bearer {token}"}


def register(sandbox: SandboxHandle, receiver: Receiver, **fields: Any) -> dict[str, Any]:
    body = {
        "url": receiver.url,
        "description": "benefitsync",
        "status": "ENABLED",
        "auth_type": "TOKEN",
        "token": HOOK_TOKEN,
        "enabled_events": ALL_EVENTS,
        **fields,
    }
    response = httpx.post(f"{sandbox.base_url}/v2/webhooks", json=body, headers=bearer(sandbox))
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def control(sandbox: SandboxHandle, method: str, path: str, **kwargs: Any) -> httpx.Response:
    response = httpx.request(method, f"{sandbox.base_url}/sandbox{path}", **kwargs)
    assert response.status_code < 300, response.text
    return response


def hire(sandbox: SandboxHandle, **fields: Any) -> int:
    body = {"first_name": "Ida", "last_name": "Neu", "email": "ida.neu@example.com", **fields}
    return int(control(sandbox, "POST", "/employees", json=body).json()["id"])


def berlin_day(occurred_at: str) -> date:
    """The Personio (Berlin) calendar day of a UTC `occurred_at`."""
    return datetime.fromisoformat(occurred_at.replace("Z", "+00:00")).astimezone(PERSONIO_TZ).date()


def set_faults(sandbox: SandboxHandle, **settings: Any) -> None:
    control(sandbox, "PUT", "/faults", json=settings)


# -- v2 tokens -----------------------------------------------------------------------------


def test_form_encoded_client_credentials_get_a_papi_bearer_token_with_all_scopes(
    sandbox: SandboxHandle,
) -> None:
    body = v2_token(sandbox).json()
    assert body["access_token"].startswith("papi-")
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 86400
    assert "personio:webhooks:write" in body["scope"].split()


def test_token_refusals_are_oauth_errors_with_status_400(sandbox: SandboxHandle) -> None:
    as_json = httpx.post(
        f"{sandbox.base_url}/v2/auth/token",
        json={"grant_type": "client_credentials", "client_id": sandbox.client_id},
    )
    wrong_secret = v2_token(sandbox, secret="wrong")
    other_grant = v2_token(sandbox, grant_type="password")
    unknown_scope = v2_token(sandbox, scope="personio:persons:read fake_scope:777")
    missing = httpx.post(f"{sandbox.base_url}/v2/auth/token", data={"client_id": sandbox.client_id})
    errors = [r.json()["error"] for r in (as_json, wrong_secret, other_grant, unknown_scope)]
    assert errors == [
        "invalid_request",
        "invalid_client",
        "unsupported_grant_type",
        "invalid_scope",
    ]
    assert missing.json()["error"] == "invalid_request"
    for response in (as_json, wrong_secret, other_grant, unknown_scope, missing):
        assert response.status_code == 400
        assert response.headers["content-type"].startswith("application/problem+json")


def test_a_credential_without_the_webhooks_scope_cannot_register_a_webhook(
    sandbox: SandboxHandle, receiver: Receiver
) -> None:
    limited = control(
        sandbox, "POST", "/credentials", json={"scopes": ["personio:persons:read"]}
    ).json()
    assert limited["scopes"] == ["personio:persons:read"]
    asking = v2_token(sandbox, limited["client_id"], limited["client_secret"],
                      scope="personio:webhooks:write")  # fmt: skip
    assert asking.status_code == 400 and asking.json()["error"] == "invalid_grant"
    token = v2_token(sandbox, limited["client_id"], limited["client_secret"]).json()
    assert token["scope"] == "personio:persons:read"
    refused = httpx.post(
        f"{sandbox.base_url}/v2/webhooks",
        json={"url": receiver.url, "description": "x", "token": "t", "enabled_events": ALL_EVENTS},
        headers={"Authorization": f"Bearer {token['access_token']}"},
    )
    assert refused.status_code == 403
    assert refused.json()["errors"][0]["title"] == "Forbidden"
    assert httpx.get(f"{sandbox.base_url}/v2/webhooks").status_code == 401


def test_the_default_credentials_v2_token_survives_a_reset_others_do_not(
    sandbox: SandboxHandle,
) -> None:
    created = control(sandbox, "POST", "/credentials", json={}).json()
    theirs = v2_token(sandbox, created["client_id"], created["client_secret"]).json()
    ours = bearer(sandbox)
    control(sandbox, "POST", "/reset", json={})
    assert httpx.get(f"{sandbox.base_url}/v2/webhooks", headers=ours).status_code == 200
    other = {"Authorization": f"Bearer {theirs['access_token']}"}
    assert httpx.get(f"{sandbox.base_url}/v2/webhooks", headers=other).status_code == 401


def test_a_revoked_or_deleted_credentials_token_no_longer_works(sandbox: SandboxHandle) -> None:
    created = control(sandbox, "POST", "/credentials", json={}).json()
    token = v2_token(sandbox, created["client_id"], created["client_secret"]).json()
    headers = {"Authorization": f"Bearer {token['access_token']}"}
    assert httpx.get(f"{sandbox.base_url}/v2/webhooks", headers=headers).status_code == 200
    revoked = httpx.post(
        f"{sandbox.base_url}/v2/auth/revoke", data={"token": token["access_token"]}
    )
    assert revoked.status_code == 200
    assert httpx.get(f"{sandbox.base_url}/v2/webhooks", headers=headers).status_code == 401
    fresh = v2_token(sandbox, created["client_id"], created["client_secret"]).json()
    headers = {"Authorization": f"Bearer {fresh['access_token']}"}
    control(sandbox, "DELETE", f"/credentials/{created['client_id']}")
    assert httpx.get(f"{sandbox.base_url}/v2/webhooks", headers=headers).status_code == 401


# -- webhooks management -------------------------------------------------------------------


def test_a_webhook_is_created_listed_read_updated_and_deleted(
    sandbox: SandboxHandle, receiver: Receiver
) -> None:
    headers = bearer(sandbox)
    base = f"{sandbox.base_url}/v2/webhooks"
    created = httpx.post(
        base,
        json={
            "url": receiver.url,
            "description": "benefitsync",
            "token": HOOK_TOKEN,
            "enabled_events": ["person.created"],
        },
        headers=headers,
    )
    assert created.status_code == 201
    hook = created.json()
    # Personio's defaults: DISABLED and TOKEN; the token is never handed back.
    assert (hook["status"], hook["auth_type"], hook["url"]) == ("DISABLED", "TOKEN", receiver.url)
    assert "token" not in hook and HOOK_TOKEN not in created.text
    listed = httpx.get(base, headers=headers).json()["_data"]
    assert [h["id"] for h in listed] == [hook["id"]]
    enabled = httpx.patch(f"{base}/{hook['id']}", json={"status": "ENABLED"}, headers=headers)
    assert enabled.json()["status"] == "ENABLED"
    assert httpx.get(f"{base}/{hook['id']}", headers=headers).json()["status"] == "ENABLED"
    assert httpx.delete(f"{base}/{hook['id']}", headers=headers).status_code == 204
    gone = httpx.get(f"{base}/{hook['id']}", headers=headers)
    assert gone.status_code == 404
    assert gone.headers["content-type"].startswith("application/problem+json")
    assert httpx.get(base, headers=headers).json()["_data"] == []


@pytest.mark.parametrize(
    ("changes", "status"),
    [
        ({"url": "http://portal.example.com/hooks"}, 422),  # plain http off loopback
        ({"url": "ftp://127.0.0.1/hooks"}, 422),
        ({"description": ""}, 422),
        ({"enabled_events": []}, 422),
        ({"enabled_events": ["person.exploded"]}, 422),
        ({"status": "ON"}, 422),
        ({"token": None}, 422),  # TOKEN auth without a token
        ({"auth_type": "CUSTOM", "custom_headers": {"Authorization": "x"}}, 422),
        ({"auth_type": "CUSTOM", "custom_headers": {f"X-{i}": "v" for i in range(4)}}, 422),
        ({"colour": "blue"}, 422),
    ],
)
def test_invalid_webhooks_are_refused(
    sandbox: SandboxHandle, receiver: Receiver, changes: dict[str, Any], status: int
) -> None:
    body = {
        "url": receiver.url,
        "description": "benefitsync",
        "token": HOOK_TOKEN,
        "enabled_events": ALL_EVENTS,
        **changes,
    }
    response = httpx.post(f"{sandbox.base_url}/v2/webhooks", json=body, headers=bearer(sandbox))
    assert response.status_code == status, response.text
    assert response.json()["errors"][0]["detail"]


def test_https_anywhere_is_accepted_and_a_second_webhook_for_one_url_conflicts(
    sandbox: SandboxHandle,
) -> None:
    body = {
        "url": "https://portal.example.com/hooks/personio",
        "description": "benefitsync",
        "token": HOOK_TOKEN,
        "enabled_events": ["person.updated"],
    }
    headers = bearer(sandbox)
    first = httpx.post(f"{sandbox.base_url}/v2/webhooks", json=body, headers=headers)
    second = httpx.post(f"{sandbox.base_url}/v2/webhooks", json=body, headers=headers)
    assert (first.status_code, second.status_code) == (201, 409)


def test_each_credential_manages_its_own_webhooks_and_every_one_receives_the_changes(
    sandbox: SandboxHandle, receiver: Receiver
) -> None:
    # Two portal companies connected to one sandbox, both pointing at the same receiver URL.
    other = control(sandbox, "POST", "/credentials", json={}).json()
    other_token = v2_token(sandbox, other["client_id"], other["client_secret"]).json()
    other_headers = {"Authorization": f"Bearer {other_token['access_token']}"}
    mine = register(sandbox, receiver, enabled_events=["person.deleted"])
    theirs = httpx.post(
        f"{sandbox.base_url}/v2/webhooks",
        json={
            "url": receiver.url,
            "description": "other company",
            "status": "ENABLED",
            "token": "their-token",
            "enabled_events": ["person.deleted"],
        },
        headers=other_headers,
    )
    assert theirs.status_code == 201
    base = f"{sandbox.base_url}/v2/webhooks"
    assert [h["id"] for h in httpx.get(base, headers=other_headers).json()["_data"]] == [
        theirs.json()["id"]
    ]
    assert httpx.delete(f"{base}/{mine['id']}", headers=other_headers).status_code == 404
    control(sandbox, "DELETE", f"/employees/{min(sandbox.state.employees)}")
    received = receiver.wait_for(2)
    assert sorted(r.headers["Authorization"] for r in received) == sorted(
        [HOOK_TOKEN, "their-token"]
    )


# -- delivery ------------------------------------------------------------------------------


def test_a_hire_is_delivered_dataless_with_the_token_verbatim(
    sandbox: SandboxHandle, receiver: Receiver
) -> None:
    hook = register(sandbox, receiver)
    pid = hire(sandbox)
    first, second = receiver.wait_for(2)
    assert [first.event_name, second.event_name] == ["person.created", "employment.created"]
    assert first.headers["Authorization"] == HOOK_TOKEN
    assert first.headers["Content-Type"] == "application/json"
    assert set(first.body) == {"company_id", "event_name", "occurred_at", "payload", "meta"}
    assert first.body["company_id"] == control(sandbox, "GET", "").json()["company_id"]
    assert berlin_day(first.body["occurred_at"]) == TODAY
    assert first.body["payload"] == {"id": str(pid)}
    assert second.body["payload"] == {"id": employment_id(pid), "person": {"id": str(pid)}}
    assert first.body["meta"]["webhook_id"] == hook["id"]
    assert first.event_id != second.event_id
    # Dataless: nothing of the person travels with the event.
    for item in (first, second):
        assert "ida" not in str(item.body).lower() and "neu" not in str(item.body).lower()
    assert sandbox.wait_for_deliveries()
    stats = control(sandbox, "GET", "/stats").json()["webhooks"]
    assert (stats["delivered"], stats["requests"], stats["pending"]) == (2, 2, 0)


def test_edits_announce_person_or_employment_updates_and_silent_attributes_announce_nothing(
    sandbox: SandboxHandle, receiver: Receiver
) -> None:
    register(sandbox, receiver)
    pid = min(sandbox.state.employees)
    current = control(sandbox, "GET", f"/employees/{pid}").json()
    edits: list[dict[str, Any]] = [
        {"last_name": "Umbenannt"},
        {"Probonio Filter": "nein" if current["Probonio Filter"] == "ja" else "ja"},
        {"termination_date": (TODAY + timedelta(days=40)).isoformat()},
        {"position": "Teamleitung (neu)"},  # Personio announces no job-title change
        {"last_name": "Umbenannt"},  # unchanged: no event
        {"email": "neu@example.com", "department": "Finanzen"},
    ]
    for edit in edits:
        control(sandbox, "PATCH", f"/employees/{pid}", json=edit)
    received = receiver.wait_for(5)
    assert [r.event_name for r in received] == [
        "person.updated",
        "person.updated",
        "employment.updated",
        "person.updated",
        "employment.updated",
    ]
    assert receiver.quiet_for(0.3) == received


def test_a_deletion_announces_the_employment_and_the_person(
    sandbox: SandboxHandle, receiver: Receiver
) -> None:
    register(sandbox, receiver)
    pid = min(sandbox.state.employees)
    control(sandbox, "DELETE", f"/employees/{pid}")
    received = receiver.wait_for(2)
    assert [(r.event_name, r.body["payload"]) for r in received] == [
        ("employment.deleted", {"id": employment_id(pid), "person": {"id": str(pid)}}),
        ("person.deleted", {"id": str(pid)}),
    ]


def test_disabled_webhooks_and_events_not_subscribed_receive_nothing(
    sandbox: SandboxHandle, receiver: Receiver
) -> None:
    with running_receiver() as disabled:
        register(sandbox, disabled, status="DISABLED")
        register(sandbox, receiver, enabled_events=["person.deleted"])
        pid = hire(sandbox)
        control(sandbox, "PATCH", f"/employees/{pid}", json={"first_name": "Ina"})
        control(sandbox, "DELETE", f"/employees/{pid}")
        assert [r.event_name for r in receiver.wait_for(1)] == ["person.deleted"]
        assert sandbox.wait_for_deliveries()
        assert disabled.received == [] and len(receiver.received) == 1


def test_the_clock_announces_starts_and_terminations_on_their_effective_date(
    sandbox: SandboxHandle, receiver: Receiver
) -> None:
    starter = hire(sandbox, hire_date=(TODAY + timedelta(days=2)).isoformat())
    leaver = min(sandbox.state.employees)
    control(
        sandbox,
        "PATCH",
        f"/employees/{leaver}",
        json={"termination_date": (TODAY + timedelta(days=3)).isoformat()},
    )
    register(sandbox, receiver, enabled_events=["employment.started", "employment.terminated"])

    def announced_on(day: date) -> list[tuple[str, str, date]]:
        """Move the clock to `day`; what it announced about our two people."""
        seen = len(receiver.received)
        control(sandbox, "PUT", "/clock", json={"today": day.isoformat()})
        assert sandbox.wait_for_deliveries()
        # Generated people start and leave on dates of their own; only ours count here.
        return [
            (r.event_name, r.body["payload"]["person"]["id"], berlin_day(r.body["occurred_at"]))
            for r in receiver.received[seen:]
            if r.body["payload"]["person"]["id"] in (str(starter), str(leaver))
        ]

    day1, day2, day3 = (TODAY + timedelta(days=n) for n in (1, 2, 3))
    assert announced_on(day1) == []
    assert announced_on(day2) == [("employment.started", str(starter), day2)]
    assert announced_on(TODAY) == []  # back in time: nothing
    assert sorted(announced_on(day3)) == [
        ("employment.started", str(starter), day3),  # passed again on the way
        ("employment.terminated", str(leaver), day3),
    ]


# -- retries -------------------------------------------------------------------------------


def test_unacknowledged_deliveries_are_retried_with_growing_delays_up_to_six_attempts(
    sandbox: SandboxHandle, receiver: Receiver
) -> None:
    # Delays of 0.6 ms, 6 ms, 36 ms, 216 ms and 1.7 s: Personio's days, scaled down.
    set_faults(sandbox, webhook_retry_scale=0.00001)
    receiver.default = Answer(500)
    register(sandbox, receiver, enabled_events=["person.deleted"])
    control(sandbox, "DELETE", f"/employees/{min(sandbox.state.employees)}")
    received = receiver.wait_for(12, timeout=15)
    assert sandbox.wait_for_deliveries(timeout=10)
    assert [r.attempt for r in received] == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6]
    assert len({r.event_id for r in received}) == 1
    starts = [r.at for r in received[::2]]
    gaps = [b - a for a, b in itertools.pairwise(starts)]
    assert gaps[4] > gaps[3] > gaps[2]
    assert gaps[4] >= 1.7
    stats = control(sandbox, "GET", "/stats").json()["webhooks"]
    assert (stats["requests"], stats["retried"], stats["failed"], stats["delivered"]) == (
        12,
        5,
        1,
        0,
    )
    assert receiver.quiet_for(0.3) == received


def test_a_receiver_that_recovers_gets_the_event_on_the_next_attempt(
    sandbox: SandboxHandle, receiver: Receiver
) -> None:
    set_faults(sandbox, webhook_retry_scale=0.001)  # the first retry after 60 ms
    receiver.script = [Answer(503), Answer(502)]
    register(sandbox, receiver, enabled_events=["person.deleted"])
    control(sandbox, "DELETE", f"/employees/{min(sandbox.state.employees)}")
    received = receiver.wait_for(3)
    assert [(r.attempt, r.answered) for r in received] == [(1, 503), (1, 502), (2, 200)]
    assert sandbox.wait_for_deliveries()
    assert receiver.quiet_for(0.2) == received


@pytest.mark.parametrize("status", [400, 401, 404, 501, 302])
def test_client_errors_501_and_redirects_are_not_retried(
    sandbox: SandboxHandle, receiver: Receiver, status: int
) -> None:
    set_faults(sandbox, webhook_retry_scale=0.00001)
    receiver.default = Answer(status)
    register(sandbox, receiver, enabled_events=["person.deleted"])
    control(sandbox, "DELETE", f"/employees/{min(sandbox.state.employees)}")
    receiver.wait_for(1)
    assert sandbox.wait_for_deliveries()
    assert [r.path for r in receiver.quiet_for(0.2)] == ["/hooks/personio"]  # no redirect
    assert control(sandbox, "GET", "/stats").json()["webhooks"]["failed"] == 1


def test_an_answer_slower_than_three_seconds_is_not_an_acknowledgement(
    sandbox: SandboxHandle, receiver: Receiver
) -> None:
    receiver.script = [Answer(200, sleep=3.3)]
    register(sandbox, receiver, enabled_events=["person.deleted"])
    control(sandbox, "DELETE", f"/employees/{min(sandbox.state.employees)}")
    received = receiver.wait_for(2, timeout=10)
    # The second request of the same attempt follows at once and is answered in time.
    assert [r.attempt for r in received] == [1, 1]
    assert received[1].at - received[0].at < 3.6
    assert sandbox.wait_for_deliveries()
    assert control(sandbox, "GET", "/stats").json()["webhooks"]["delivered"] == 1


def test_a_slow_receiver_never_slows_the_sandboxs_answers(
    sandbox: SandboxHandle, receiver: Receiver
) -> None:
    receiver.default = Answer(200, sleep=2.5)
    register(sandbox, receiver)
    pid = min(sandbox.state.employees)
    with httpx.Client(base_url=sandbox.base_url) as client:
        started = time.monotonic()
        for i in range(20):
            edited = client.patch(f"/sandbox/employees/{pid}", json={"first_name": f"Name{i}"})
            assert edited.status_code == 200
        token = client.post(
            "/v1/auth",
            json={"client_id": sandbox.client_id, "client_secret": sandbox.client_secret},
        ).json()["data"]["token"]
        listing = client.get("/v1/company/employees", headers={"Authorization": f"Bearer {token}"})
        elapsed = time.monotonic() - started
    assert listing.status_code == 200
    # 20 deliveries the receiver takes 2.5 s each to answer are queued, none is waited for
    # (unloaded, the 22 requests take about 0.1 s).
    assert elapsed < 2.0, elapsed
    assert len(receiver.received) <= 1
    assert control(sandbox, "GET", "/stats").json()["webhooks"]["pending"] >= 19


def test_a_reset_forgets_webhooks_and_pending_retries(
    sandbox: SandboxHandle, receiver: Receiver
) -> None:
    set_faults(sandbox, webhook_retry_scale=0.01)  # the second retry 6 s after the first
    receiver.default = Answer(500)
    register(sandbox, receiver, enabled_events=["person.deleted"])
    control(sandbox, "DELETE", f"/employees/{min(sandbox.state.employees)}")
    receiver.wait_for(2)
    control(sandbox, "POST", "/reset", json={})
    assert sandbox.wait_for_deliveries(timeout=5)
    assert control(sandbox, "GET", "").json()["webhooks"] == 0
    assert len(receiver.quiet_for(1.0)) == 2


# -- delivery faults -----------------------------------------------------------------------


def deleted_in_order(sandbox: SandboxHandle, count: int) -> list[str]:
    """Delete the first `count` people one after another; their ids as strings."""
    ids = sorted(sandbox.state.employees)[:count]
    for pid in ids:
        control(sandbox, "DELETE", f"/employees/{pid}")
    return [str(pid) for pid in ids]


def test_a_dropped_delivery_never_arrives(sandbox: SandboxHandle, receiver: Receiver) -> None:
    set_faults(sandbox, webhook_script=["ok", "drop"])
    register(sandbox, receiver, enabled_events=["person.deleted"])
    ids = deleted_in_order(sandbox, 3)
    received = receiver.wait_for(2)
    assert sandbox.wait_for_deliveries()
    assert [r.body["payload"]["id"] for r in receiver.quiet_for(0.2)] == [ids[0], ids[2]]
    assert [r.body["payload"]["id"] for r in received] == [ids[0], ids[2]]
    assert control(sandbox, "GET", "/stats").json()["webhooks"]["dropped"] == 1


def test_a_duplicated_delivery_arrives_twice_with_one_event_id(
    sandbox: SandboxHandle, receiver: Receiver
) -> None:
    set_faults(sandbox, webhook_script=["duplicate"])
    register(sandbox, receiver, enabled_events=["person.deleted"])
    ids = deleted_in_order(sandbox, 2)
    received = receiver.wait_for(3)
    assert [r.body["payload"]["id"] for r in received] == [ids[0], ids[0], ids[1]]
    assert received[0].event_id == received[1].event_id != received[2].event_id


def test_a_reordered_delivery_arrives_after_its_successor(
    sandbox: SandboxHandle, receiver: Receiver
) -> None:
    set_faults(sandbox, webhook_script=["reorder"], webhook_delay_ms=5000)
    register(sandbox, receiver, enabled_events=["person.deleted"])
    ids = deleted_in_order(sandbox, 2)
    received = receiver.wait_for(2, timeout=4)  # long before the 5 s hold ran out
    assert [r.body["payload"]["id"] for r in received] == [ids[1], ids[0]]


def test_a_delayed_delivery_arrives_late(sandbox: SandboxHandle, receiver: Receiver) -> None:
    set_faults(sandbox, webhook_script=["delay"], webhook_delay_ms=400)
    register(sandbox, receiver, enabled_events=["person.deleted"])
    started = time.monotonic()
    ids = deleted_in_order(sandbox, 1)
    received = receiver.wait_for(1)
    assert received[0].body["payload"]["id"] == ids[0]
    assert received[0].at - started >= 0.4


def test_delivery_fault_rates_are_seeded_and_every_fault_is_counted(
    sandbox: SandboxHandle, receiver: Receiver
) -> None:
    set_faults(
        sandbox,
        seed=3,
        webhook_rate_drop=0.2,
        webhook_rate_duplicate=0.2,
        webhook_rate_reorder=0.2,
        webhook_delay_ms=50,
    )
    register(sandbox, receiver, enabled_events=["person.deleted"])
    ids = deleted_in_order(sandbox, 30)
    assert sandbox.wait_for_deliveries(timeout=10)
    stats = control(sandbox, "GET", "/stats").json()["webhooks"]
    assert stats["dropped"] > 0 and stats["duplicated"] > 0 and stats["reordered"] > 0
    arrived = [r.body["payload"]["id"] for r in receiver.received]
    assert len(arrived) == 30 - stats["dropped"] + stats["duplicated"]
    assert set(arrived) <= set(ids)


def test_bad_delivery_fault_settings_are_refused(sandbox: SandboxHandle) -> None:
    for bad in (
        {"webhook_script": ["explode"]},
        {"webhook_rate_drop": 2},
        {"webhook_retry_scale": -1},
        {"webhook_silent_attributes": ["shoe_size"]},
    ):
        response = httpx.put(f"{sandbox.base_url}/sandbox/faults", json=bad)
        assert response.status_code == 400, bad


# -- the control API's extras --------------------------------------------------------------


def test_a_change_without_touch_keeps_last_modified_at_but_is_announced(
    sandbox: SandboxHandle, receiver: Receiver
) -> None:
    register(sandbox, receiver, enabled_events=["employment.updated"])
    pid = min(sandbox.state.employees)
    before = control(sandbox, "GET", f"/employees/{pid}").json()
    after = control(
        sandbox, "PATCH", f"/employees/{pid}?touch=false", json={"status": "leave"}
    ).json()
    assert after["status"] == "leave" != before["status"]
    assert after["last_modified_at"] == before["last_modified_at"]
    assert [r.event_name for r in receiver.wait_for(1)] == ["employment.updated"]


def test_one_employee_by_id_keeps_the_whitelist_and_custom_attributes(
    sandbox: SandboxHandle,
) -> None:
    created = control(
        sandbox, "POST", "/credentials", json={"attributes": ["email", "Probonio Filter"]}
    ).json()
    token = httpx.post(
        f"{sandbox.base_url}/v1/auth",
        json={"client_id": created["client_id"], "client_secret": created["client_secret"]},
    ).json()["data"]["token"]
    pid = min(sandbox.state.employees)
    data = httpx.get(
        f"{sandbox.base_url}/v1/company/employees/{pid}",
        headers={"Authorization": f"Bearer {token}"},
    ).json()["data"]
    assert set(data["attributes"]) == {"id", "email", "dynamic_4187003"}
    assert data["attributes"]["dynamic_4187003"]["label"] == "Probonio Filter"


def test_v2_faults_answer_in_v2s_error_shape(sandbox: SandboxHandle) -> None:
    headers = bearer(sandbox)
    set_faults(sandbox, endpoints=["v2"], script=["503", "429"])
    unavailable = httpx.get(f"{sandbox.base_url}/v2/webhooks", headers=headers)
    limited = v2_token(sandbox)
    assert (unavailable.status_code, limited.status_code) == (503, 429)
    assert unavailable.headers["content-type"].startswith("application/problem+json")
    assert "retry-after" not in limited.headers
    assert httpx.get(f"{sandbox.base_url}/v2/webhooks", headers=headers).status_code == 200


def test_the_real_date_passing_midnight_announces_the_days_starts(receiver: Receiver) -> None:
    # An unpinned clock: Personio's today is the real date in Berlin; midnight is simulated.
    before_midnight = datetime(2026, 11, 24, 23, 59, 59, tzinfo=PERSONIO_TZ).timestamp()
    wall = [before_midnight]
    state = SandboxState(employees=5, seed=3, wall=lambda: wall[0])
    pid = min(state.employees)
    state.patch_employee(pid, {"hire_date": "2026-11-25"})
    state.create_webhook(
        state.default_client_id,
        {
            "url": receiver.url,
            "description": "benefitsync",
            "status": "ENABLED",
            "token": HOOK_TOKEN,
            "enabled_events": ["employment.started"],
        },
    )
    state.dispatcher.start()
    try:
        assert receiver.quiet_for(1.2) == []  # a tick passed: still the 24th
        wall[0] = before_midnight + 2
        (started,) = receiver.wait_for(1, timeout=3)  # the next tick (once a second) sees it
        assert started.body["payload"]["person"]["id"] == str(pid)
        assert berlin_day(started.body["occurred_at"]) == date(2026, 11, 25)
    finally:
        state.dispatcher.stop()
