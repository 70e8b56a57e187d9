"""`python -m benefitsync.integrations.personio.sandbox --port 8900 …` (no Django needed)."""

from __future__ import annotations

import sys

from .server import main

sys.exit(main())
