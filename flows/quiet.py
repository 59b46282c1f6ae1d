"""Prefect's settings for runs started from the command line; import before Prefect.

No telemetry (there may be no network), and only errors on the console, since the command
shows its own diagnostics and progress (a run's full log still goes to the Prefect
server). Prefect reads these when it is imported, so this module must come first in every
process the command starts that imports Prefect, the workers' fork server included. A
user's own values win.
"""

from __future__ import annotations

import os

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL", "ERROR")
os.environ.setdefault("PREFECT_SERVER_LOGGING_LEVEL", "WARNING")
