from __future__ import annotations

# The Personio sandbox fixtures of the sync tests, shared here.
from tests.sync.conftest import fast_client, sandbox  # noqa: F401
from tests.test_personas import world  # noqa: F401
