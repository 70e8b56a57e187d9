"""The malloc arena cap that keeps a worker's RSS from growing with the client's threads."""

from __future__ import annotations

import platform
import subprocess
import sys
import textwrap

import pytest

from benefitsync.lib.memory import cap_malloc_arenas

GLIBC = sys.platform == "linux" and platform.libc_ver()[0] == "glibc"


@pytest.mark.skipif(not GLIBC, reason="mallopt(M_ARENA_MAX) is glibc's")
def test_the_cap_is_set_in_a_process_without_malloc_arena_max() -> None:
    code = textwrap.dedent(
        """
        import os
        os.environ.pop("MALLOC_ARENA_MAX", None)
        from benefitsync.lib.memory import cap_malloc_arenas
        print(cap_malloc_arenas())
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "True"


def test_an_operators_malloc_arena_max_is_left_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MALLOC_ARENA_MAX", "4")
    assert cap_malloc_arenas() is False
