"""`benefitsync run_huey`: Huey's Django consumer command, unchanged.

Re-exported here because `huey.contrib.djhuey` is not an installed app (see settings.py): only
the process that runs this command pays for importing Huey, Redis and the tasks modules.
"""

from __future__ import annotations

from huey.contrib.djhuey.management.commands.run_huey import Command

__all__ = ["Command"]
