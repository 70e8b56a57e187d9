"""Process memory settings.

The Personio client fetches pages on 15 threads. glibc gives threads that allocate at the same
time their own malloc arenas (up to 8 per core) and keeps what they freed for reuse rather than
returning it, so a worker's RSS grows with how much those threads once held at the same time,
not with what it holds now: measured in bench/sync_bench.py, a first sync of 100,000 employees
peaked at 281 MB with glibc's default and at 197 MB with two arenas, at the same speed.

`cap_malloc_arenas()` sets what the MALLOC_ARENA_MAX environment variable sets, from inside the
process, so every way of starting a worker gets it; an operator's own MALLOC_ARENA_MAX wins.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys

_M_ARENA_MAX = -8  # glibc's <malloc.h>
ARENAS = 2


def cap_malloc_arenas(arenas: int = ARENAS) -> bool:
    """Limit glibc's malloc to `arenas` arenas; False where that is not possible (not glibc)
    or not wanted (MALLOC_ARENA_MAX is set)."""
    if sys.platform != "linux" or "MALLOC_ARENA_MAX" in os.environ:
        return False
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    try:
        mallopt = ctypes.CDLL(name).mallopt
    except (OSError, AttributeError):  # musl and others have no mallopt
        return False
    return bool(mallopt(_M_ARENA_MAX, arenas))
