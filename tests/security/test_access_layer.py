"""One access layer: every view and every JSON API operation carries one role decorator of
`benefitsync.accounts.access`, which states the HTTP methods it accepts."""

from __future__ import annotations

from django.urls import get_resolver, reverse

from benefitsync.api.employee import api
from tests.test_personas import all_named_urls

# Views that are Django's own (the back office, the language switch) or django-ninja's own
# (the OpenAPI schema and its page, the API root): they carry no role of ours.
NOT_OURS = ("admin:", "set_language", "api:")


def test_every_page_states_its_role_and_methods() -> None:
    resolver = get_resolver()
    missing = []
    for name, _route, _keys in all_named_urls():
        if name.startswith(NOT_OURS):
            continue
        view = resolver.resolve(_path_of(name)).func
        if not getattr(view, "allowed_methods", None):
            missing.append(name)
    assert not missing, f"views without an accounts.access role: {missing}"


def test_every_api_operation_states_its_role_and_methods() -> None:
    missing = []
    for _prefix, router in api._routers:
        for path, path_view in router.path_operations.items():
            for operation in path_view.operations:
                allowed = getattr(operation.view_func, "allowed_methods", frozenset())
                if not set(operation.methods) <= allowed:
                    missing.append(f"{operation.methods} {path}")
    assert not missing, f"API operations without a matching accounts.access role: {missing}"


def _path_of(name: str) -> str:
    keys = next(k for n, _r, k in all_named_urls() if n == name)
    values = {"slug": "alpha", "token": "t", "key": "00000000-0000-0000-0000-000000000001"}
    return reverse(name, kwargs={k: values.get(k, 1) for k in keys})
