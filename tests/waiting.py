"""Waiting, in tests, for something another process does: a server up, a run done, a daemon gone."""

from __future__ import annotations

import time
from collections.abc import Callable


def wait_for(what: str, check: Callable[[], object], timeout: float = 240, every: float = 1.0) -> object:
    """``check()``'s first truthy result, asked every ``every`` seconds; fails after ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if result := check():
                return result
        except OSError:  # the server or file is not there yet
            pass
        time.sleep(every)
    raise AssertionError(f"timed out waiting for {what}")
