"""Check functions for tests/test_check_daemon.py, run in the daemons those tests start."""

from __future__ import annotations

import os
from pathlib import Path


def whoami(path: Path) -> list[str]:
    """Which process checked, and what it read."""
    return [f"pid {os.getpid()}", f"bytes {path.stat().st_size}"]


def crash(path: Path) -> list[str]:
    """A check that kills its process, as a JVM crash would."""
    os._exit(3)
