"""The sandbox behaves like Personio v1 (over real HTTP), and its control API works."""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from typing import Any

import httpx
import pytest

from benefitsync.integrations.personio.sandbox import SandboxHandle
from benefitsync.integrations.personio.sandbox.data import SUBCOMPANIES, generate_employees


def token_for(
    sandbox: SandboxHandle, client_id: str | None = None, secret: str | None = None
) -> str:
    response = httpx.post(
        f"{sandbox.base_url}/v1/auth",
        json={
            "client_id": client_id or sandbox.client_id,
            "client_secret": secret or sandbox.client_secret,
        },
    )
    assert response.status_code == 200, response.text
    token: str = response.json()["data"]["token"]
    return token


def v1_get(sandbox: SandboxHandle, path: str, token: str, **params: Any) -> httpx.Response:
    return httpx.get(
        f"{sandbox.base_url}{path}", params=params, headers={"Authorization": f"Bearer {token}"}
    )


def test_query_string_credentials_are_forbidden(sandbox: SandboxHandle) -> None:
    response = httpx.post(
        f"{sandbox.base_url}/v1/auth",
        params={"client_id": sandbox.client_id, "client_secret": sandbox.client_secret},
    )
    assert response.status_code == 403
    assert response.json()["success"] is False


def test_form_and_json_bodies_get_the_same_stable_papi_token(sandbox: SandboxHandle) -> None:
    form = httpx.post(
        f"{sandbox.base_url}/v1/auth",
        data={"client_id": sandbox.client_id, "client_secret": sandbox.client_secret},
    ).json()["data"]
    assert form["token"].startswith("papi-")
    assert 0 < form["expires_in"] <= 86400
    assert token_for(sandbox) == form["token"]


def test_successful_responses_echo_the_bearer_token(sandbox: SandboxHandle) -> None:
    token = token_for(sandbox)
    response = v1_get(sandbox, "/v1/company/employees", token)
    assert response.headers["authorization"] == f"Bearer {token}"


def test_a_bad_token_gets_401_in_personios_error_envelope(sandbox: SandboxHandle) -> None:
    response = v1_get(sandbox, "/v1/company/employees", "papi-nonsense")
    assert response.status_code == 401
    assert response.json() == {
        "success": False,
        "error": {"code": 401, "message": "The token is invalid"},
    }


def test_limit_defaults_to_50_is_capped_at_100_and_offset_counts_items(
    sandbox: SandboxHandle,
) -> None:
    token = token_for(sandbox)
    body = v1_get(sandbox, "/v1/company/employees", token).json()
    assert len(body["data"]) == 50 and body["limit"] == 50
    assert body["metadata"] == {"total_elements": 250, "current_page": 0, "total_pages": 5}
    page = v1_get(sandbox, "/v1/company/employees", token, limit=100, offset=120).json()
    ids = sorted(sandbox.state.employees)
    assert [e["attributes"]["id"]["value"] for e in page["data"]] == ids[120:220]
    assert page["metadata"]["current_page"] == 1
    assert v1_get(sandbox, "/v1/company/employees", token, limit=101).status_code == 400


def test_email_filter_finds_one_employee_case_insensitively(sandbox: SandboxHandle) -> None:
    flat = next(e for e in sandbox.state.list_flat() if e["email"])
    body = v1_get(
        sandbox, "/v1/company/employees", token_for(sandbox), email=flat["email"].upper()
    ).json()
    assert [e["attributes"]["id"]["value"] for e in body["data"]] == [flat["id"]]


def test_value_conventions_follow_personio(sandbox: SandboxHandle) -> None:
    token = token_for(sandbox)
    emp = v1_get(sandbox, "/v1/company/employees", token, limit=1).json()["data"][0]
    attrs = emp["attributes"]
    assert emp["type"] == "Employee"
    assert set(attrs["id"]) == {"label", "value", "type", "universal_id"}
    assert attrs["hire_date"]["value"][10:19] == "T00:00:00"
    assert attrs["hire_date"]["value"][19:] in ("+01:00", "+02:00")
    assert attrs["subcompany"]["value"]["type"] == "Subcompany"
    assert attrs["subcompany"]["value"]["attributes"]["name"] in SUBCOMPANIES
    assert isinstance(attrs["weekly_working_hours"]["value"], str)
    assert attrs["contract_end_date"]["value"] is None
    assert attrs["dynamic_4187004"]["label"] == "Geburtstag"
    assert len(attrs["dynamic_4187004"]["value"]) == 10  # custom dates are plain YYYY-MM-DD
    assert attrs["dynamic_4187001"]["universal_id"] is None


def test_summer_dates_carry_the_summer_offset(sandbox: SandboxHandle) -> None:
    pid = min(sandbox.state.employees)
    sandbox.state.patch_employee(pid, {"hire_date": "2024-07-01", "termination_date": "2027-01-31"})
    attrs = v1_get(sandbox, f"/v1/company/employees/{pid}", token_for(sandbox)).json()["data"][
        "attributes"
    ]
    assert attrs["hire_date"]["value"] == "2024-07-01T00:00:00+02:00"
    assert attrs["termination_date"]["value"] == "2027-01-31T00:00:00+01:00"


def test_status_turns_inactive_the_day_after_the_termination_date(sandbox: SandboxHandle) -> None:
    pid = min(sandbox.state.employees)
    sandbox.state.patch_employee(pid, {"termination_date": "2026-12-15", "status": "active"})
    token = token_for(sandbox)

    def status_on(day: date) -> str:
        sandbox.state.set_today(day)
        data = v1_get(sandbox, f"/v1/company/employees/{pid}", token).json()["data"]
        return str(data["attributes"]["status"]["value"])

    assert status_on(date(2026, 12, 15)) == "active"
    assert status_on(date(2026, 12, 16)) == "inactive"


def test_attributes_outside_the_whitelist_are_simply_absent(sandbox: SandboxHandle) -> None:
    created = httpx.post(
        f"{sandbox.base_url}/sandbox/credentials",
        json={"attributes": ["first_name", "Probonio Filter"]},
    ).json()
    token = token_for(sandbox, created["client_id"], created["client_secret"])
    emp = v1_get(sandbox, "/v1/company/employees", token, limit=1).json()["data"][0]
    assert set(emp["attributes"]) == {"id", "first_name", "dynamic_4187003"}
    listed = v1_get(sandbox, "/v1/company/employees/attributes", token).json()["data"]
    assert [a["key"] for a in listed] == ["first_name", "dynamic_4187003"]
    projected = v1_get(
        sandbox, "/v1/company/employees", token, **{"attributes[]": ["first_name", "email"]}
    ).json()["data"][0]
    assert set(projected["attributes"]) == {"id", "first_name"}


def test_a_deleted_credential_can_no_longer_authenticate(sandbox: SandboxHandle) -> None:
    created = httpx.post(f"{sandbox.base_url}/sandbox/credentials", json={}).json()
    assert (
        httpx.delete(f"{sandbox.base_url}/sandbox/credentials/{created['client_id']}").status_code
        == 204
    )
    response = httpx.post(
        f"{sandbox.base_url}/v1/auth",
        json={"client_id": created["client_id"], "client_secret": created["client_secret"]},
    )
    assert response.status_code == 401


def test_updated_since_with_attributes_selects_employees_whose_attribute_changed(
    sandbox: SandboxHandle,
) -> None:
    ids = sorted(sandbox.state.employees)
    since = (sandbox.state.clock.now() - timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%S")
    sandbox.state.patch_employee(ids[0], {"first_name": "Zoe"})
    sandbox.state.patch_employee(ids[1], {"Probonio Filter": "ja" if False else "TRUE"})
    token = token_for(sandbox)
    changed = v1_get(sandbox, "/v1/company/employees", token, updated_since=since).json()
    got = {e["attributes"]["id"]["value"] for e in changed["data"]}
    assert {ids[0]} <= got
    only_names = v1_get(
        sandbox,
        "/v1/company/employees",
        token,
        updated_since=since,
        **{"attributes[]": ["first_name"]},
    ).json()
    assert [e["attributes"]["id"]["value"] for e in only_names["data"]] == [ids[0]]


def test_personio_rate_limits_answer_429_without_retry_after(sandbox: SandboxHandle) -> None:
    sandbox.state.rate_limit = True
    token = token_for(sandbox)
    # All 16 at once: sent one after the other, they need to arrive within one second, which a
    # busy machine (or parallel test workers) does not guarantee.
    with ThreadPoolExecutor(16) as pool:
        statuses = list(
            pool.map(lambda _: v1_get(sandbox, "/v1/company/employees", token, limit=1), range(16))
        )
    limited = [r for r in statuses if r.status_code == 429]
    assert len(limited) == 1
    assert "retry-after" not in limited[0].headers
    auth = [
        httpx.post(f"{sandbox.base_url}/v1/auth", json={"client_id": "x", "client_secret": "y"})
        for _ in range(61)
    ]
    assert auth[-1].status_code == 429
    assert sandbox.state.stats()["rate_limited"] == 2


def test_control_api_creates_patches_and_deletes_flat_employees(sandbox: SandboxHandle) -> None:
    base = f"{sandbox.base_url}/sandbox/employees"
    new = httpx.post(
        base,
        json={
            "first_name": "Mia",
            "last_name": "Krause",
            "email": "mia.krause@nordlicht-services.de",
            "hire_date": "2026-01-01",
            "subcompany": "Nordlicht Services GmbH",
            "Probonio Filter": "ja",
        },
    )
    assert new.status_code == 201
    pid = new.json()["id"]
    flat = httpx.get(f"{base}/{pid}").json()
    assert flat["Probonio Filter"] == "ja" and flat["hire_date"] == "2026-01-01"
    before = flat["last_modified_at"]
    patched = httpx.patch(f"{base}/{pid}", json={"termination_date": "2026-12-15"}).json()
    assert patched["termination_date"] == "2026-12-15"
    assert patched["last_modified_at"] > before
    token = token_for(sandbox)
    v1 = v1_get(sandbox, f"/v1/company/employees/{pid}", token).json()["data"]["attributes"]
    assert v1["termination_date"]["value"] == "2026-12-15T00:00:00+01:00"
    assert httpx.delete(f"{base}/{pid}").status_code == 204
    assert v1_get(sandbox, f"/v1/company/employees/{pid}", token).status_code == 404
    assert httpx.patch(f"{base}/{pid}", json={}).status_code == 404
    assert (
        httpx.patch(f"{base}/{min(sandbox.state.employees)}", json={"nope": 1}).status_code == 400
    )


def test_faults_can_be_changed_at_run_time_and_bad_settings_are_refused(
    sandbox: SandboxHandle,
) -> None:
    url = f"{sandbox.base_url}/sandbox/faults"
    assert httpx.put(url, json={"rate_500": 1.0}).json()["rate_500"] == 1.0
    token = token_for(sandbox)
    assert v1_get(sandbox, "/v1/company/employees", token).status_code == 500
    assert httpx.patch(url, json={"rate_500": 0.0}).json()["rate_500"] == 0.0
    assert v1_get(sandbox, "/v1/company/employees", token).status_code == 200
    assert httpx.put(url, json={"rate_teapot": 1}).status_code == 400
    assert httpx.put(url, json={"rate_500": 2}).status_code == 400
    stats = httpx.get(f"{sandbox.base_url}/sandbox/stats").json()
    assert stats["by_endpoint"]["employees"] == {"500": 1, "200": 1}
    assert stats["faults"] == {"500": 1}


def test_reset_is_deterministic_for_a_seed(sandbox: SandboxHandle) -> None:
    url = f"{sandbox.base_url}/sandbox/reset"
    httpx.post(url, json={"employees": 30, "seed": 5})
    first = httpx.get(f"{sandbox.base_url}/sandbox/employees").json()
    httpx.post(url, json={"employees": 30, "seed": 5})
    assert httpx.get(f"{sandbox.base_url}/sandbox/employees").json() == first
    httpx.post(url, json={"employees": 30, "seed": 6})
    assert httpx.get(f"{sandbox.base_url}/sandbox/employees").json() != first
    assert len(first) == 30


def test_the_clock_can_be_moved_through_the_control_api(sandbox: SandboxHandle) -> None:
    url = f"{sandbox.base_url}/sandbox/clock"
    assert httpx.put(url, json={"today": "2027-03-01"}).json()["today"] == "2027-03-01"
    assert sandbox.state.clock.today() == date(2027, 3, 1)


def test_generated_data_looks_like_a_real_company() -> None:
    today = date(2026, 11, 24)
    employees = generate_employees(2000, 3, today)
    domains = {v: k for k, v in SUBCOMPANIES.items()}
    with_email = [e for e in employees if e.values["email"]]
    assert 0.005 < 1 - len(with_email) / 2000 < 0.04
    for e in with_email:
        assert domains[e.values["email"].split("@")[1]] == e.values["subcompany"]
    leavers = [e.values["termination_date"] for e in employees if e.values["termination_date"]]
    assert 0.03 < len(leavers) / 2000 < 0.07
    this_month = [d for d in leavers if (d.year, d.month) == (today.year, today.month)]
    assert this_month and any(d < date(2026, 11, 1) for d in leavers)
    assert any(d > date(2026, 11, 30) for d in leavers)
    statuses = Counter(e.effective_status(today) for e in employees)
    assert statuses["onboarding"] > 10 and statuses["leave"] > 10 and statuses["inactive"] > 10
    assert len({e.id for e in employees}) == 2000


@pytest.mark.parametrize("raw", ["", "ja", "Yes", "TRUE", "nein"])
def test_the_probonio_filter_uses_realistic_spellings(raw: str) -> None:
    values = {e.values["dynamic_4187003"] for e in generate_employees(500, 1, date(2026, 1, 1))}
    assert raw in values
