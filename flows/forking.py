"""The fork server that the build's worker processes are forked from.

Prefect spawns each process-pool worker afresh, and each then spends more than a second of
CPU importing what its tasks need. A multiprocessing fork server makes those imports once
(``PRELOAD``: the command's main module, so no worker re-runs it, and flows.workers) and
forks every worker from itself, in milliseconds. This module imports nothing heavy, so the
command line can start the server first thing, letting its imports overlap the command's.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.forkserver
from multiprocessing.context import BaseContext

PRELOAD = ["__main__", "flows.workers"]


def context() -> BaseContext | None:
    """The fork server's context, set to preload; None where there is no fork server."""
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return None
    forkserver = multiprocessing.get_context("forkserver")
    forkserver.set_forkserver_preload(PRELOAD)
    return forkserver


def start() -> None:
    """Start the fork server now, if it is not running, rather than at the first worker."""
    if context() is not None:
        multiprocessing.forkserver.ensure_running()
