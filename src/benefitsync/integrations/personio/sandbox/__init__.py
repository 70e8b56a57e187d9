"""A local Personio v1 API (Starlette on uvicorn, in-memory, deterministic for a seed).

Tests start it with `running_sandbox()`; people with `benefitsync personio-sandbox` or
`python -m benefitsync.integrations.personio.sandbox`.
"""

from __future__ import annotations

from .server import SandboxHandle, running_sandbox
from .state import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, FaultConfig, SandboxState

__all__ = [
    "DEFAULT_CLIENT_ID",
    "DEFAULT_CLIENT_SECRET",
    "FaultConfig",
    "SandboxHandle",
    "SandboxState",
    "running_sandbox",
]
