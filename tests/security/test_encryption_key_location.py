"""The embedded default's encryption key can live apart from the database and its backups."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def test_the_encryption_key_file_can_be_kept_outside_the_data_directory(tmp_path: Path) -> None:
    data = tmp_path / "var"
    key_file = tmp_path / "secrets" / "encryption_key"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "benefitsync.settings",
        "BENEFITSYNC_DATA_DIR": str(data),
        "BENEFITSYNC_ENCRYPTION_KEY_FILE": str(key_file),
    }
    env.pop("BENEFITSYNC_ENCRYPTION_KEYS", None)
    env.pop("DATABASE_URL", None)
    code = "from django.conf import settings; print(settings.BENEFITSYNC_ENCRYPTION_KEYS[0])"
    printed = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    ).stdout.strip()
    assert key_file.read_text().strip() == printed
    assert not (data / "encryption_key").exists()
    assert oct(key_file.stat().st_mode & 0o777) == "0o600"
