"""The embedded default's data directory: generated-once secrets kept beside the SQLite files."""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from pathlib import Path


def read_or_create(path: Path, make: Callable[[], str]) -> str:
    """Return the file's content, creating it (mode 0600) with `make()` the first time.

    O_EXCL makes two processes starting at once agree on one value: the loser reads the winner's.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    value = make()
    with os.fdopen(fd, "w") as handle:
        handle.write(value + "\n")
    return value


def random_secret_key() -> str:
    return secrets.token_urlsafe(50)
