"""Sandbox responses validate against the schemas in Personio's own OpenAPI files.

The files live outside this repository (they carry no license): /work/shared/reference/personio,
or wherever PERSONIO_OPENAPI_DIR points. Without them these tests skip with that reason.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from jsonschema import Draft4Validator
from referencing import Registry
from referencing.jsonschema import DRAFT4

from benefitsync.integrations.personio.sandbox import SandboxHandle

SPEC_DIR = Path(os.environ.get("PERSONIO_OPENAPI_DIR", "/work/shared/reference/personio")) / "v1"
PERSONNEL = "personio-personnel-data-api-oa3.yaml"
AUTH = "personio-auth-api.yaml"

pytestmark = pytest.mark.skipif(
    not (SPEC_DIR / PERSONNEL).is_file() or not (SPEC_DIR / AUTH).is_file(),
    reason=f"Personio's OpenAPI files are not available at {SPEC_DIR} (not redistributable)",
)


def _load(name: str) -> Any:
    # BaseLoader would keep everything as strings; safe_load turns example dates into objects,
    # which only appear under `example`, not in anything validation reads.
    return yaml.safe_load((SPEC_DIR / name).read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def registry() -> Registry:
    reg: Registry = Registry()
    for name in (PERSONNEL, AUTH):
        reg = reg.with_resource(f"urn:personio:{name}", DRAFT4.create_resource(_load(name)))
    return reg


def validate(registry: Registry, spec: str, schema: str, instance: Any) -> None:
    ref = {"$ref": f"urn:personio:{spec}#/components/schemas/{schema}"}
    errors = sorted(
        Draft4Validator(ref, registry=registry).iter_errors(instance), key=lambda e: e.path
    )
    assert not errors, "; ".join(f"{list(e.path)}: {e.message[:200]}" for e in errors[:5])


def auth(sandbox: SandboxHandle) -> httpx.Response:
    return httpx.post(
        f"{sandbox.base_url}/v1/auth",
        json={"client_id": sandbox.client_id, "client_secret": sandbox.client_secret},
    )


def get(sandbox: SandboxHandle, path: str, **params: Any) -> httpx.Response:
    token = auth(sandbox).json()["data"]["token"]
    return httpx.get(
        f"{sandbox.base_url}{path}", params=params, headers={"Authorization": f"Bearer {token}"}
    )


def test_auth_response_matches_the_authentication_token_response(
    sandbox: SandboxHandle, registry: Registry
) -> None:
    validate(registry, AUTH, "AuthenticationTokenResponse", auth(sandbox).json())


def test_every_employee_page_matches_employees_response(
    sandbox: SandboxHandle, registry: Registry
) -> None:
    # The spec's EmployeesResponse is allOf[Response, {...data: array}], and Response declares
    # `data: object`: the file contradicts itself (and Personio's own example, a list). We
    # validate against the list part and the base's required keys.
    for offset in (0, 100, 200):
        body = get(sandbox, "/v1/company/employees", limit=100, offset=offset).json()
        validate(registry, PERSONNEL, "EmployeesResponse/allOf/1", body)
        assert isinstance(body["success"], bool) and isinstance(body["data"], list)
        assert body["data"]


def test_one_employee_matches_employee_response(sandbox: SandboxHandle, registry: Registry) -> None:
    for pid in sorted(sandbox.state.employees)[:20]:
        body = get(sandbox, f"/v1/company/employees/{pid}").json()
        validate(registry, PERSONNEL, "EmployeeResponse", body)


def test_an_unknown_employee_matches_the_404_error(
    sandbox: SandboxHandle, registry: Registry
) -> None:
    response = get(sandbox, "/v1/company/employees/1")
    assert response.status_code == 404
    validate(registry, PERSONNEL, "Employee404ErrorResponse", response.json())


def test_401_and_403_match_the_error_response(sandbox: SandboxHandle, registry: Registry) -> None:
    unauthorized = httpx.get(f"{sandbox.base_url}/v1/company/employees")
    assert unauthorized.status_code == 401
    validate(registry, PERSONNEL, "ErrorResponse", unauthorized.json())
    forbidden = httpx.post(f"{sandbox.base_url}/v1/auth?client_id=a&client_secret=b")
    assert forbidden.status_code == 403
    validate(registry, PERSONNEL, "ErrorResponse", forbidden.json())


def test_attributes_response_has_the_shape_of_personios_example(sandbox: SandboxHandle) -> None:
    # The spec gives this endpoint only an example, no schema: compare field names and types.
    spec = _load(PERSONNEL)
    example = spec["paths"]["/company/employees/attributes"]["get"]["responses"]["200"]["content"][
        "application/json"
    ]["examples"]["response"]["value"]
    body = get(sandbox, "/v1/company/employees/attributes").json()
    assert set(body) == set(example)
    expected_keys = set(example["data"][0])
    for item in body["data"]:
        assert set(item) == expected_keys
        assert isinstance(item["options"], list)
    labels = {item["label"] for item in body["data"]}
    assert {"Personalnummer", "Verheiratet?", "Probonio Filter"} <= labels
