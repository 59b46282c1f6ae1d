"""Low CPU priority for the tasks off a build's longest path.

A build with more work than cores ends when its longest chain of tasks ends (a long PDF's
export, then its read-back); every other task only has to end before that. At the same
priority, the others take turns on the cores with that chain and stretch it; at a lower
one, they use what it leaves, and run at full speed on a core it does not need.

Linux gives each thread a nice value of its own, which an unprivileged thread may raise but
never lower again; so background work runs in a thread started for it, niced, that ends
with it. Elsewhere the work runs as it is, at the caller's priority.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
import sys
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar

BACKGROUND_NICE = 10  # a tenth of a normal thread's share of a core it contends for

P = ParamSpec("P")
T = TypeVar("T")


def call(background: bool, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """``fn(*args, **kwargs)``, in a background thread when ``background`` (see the module)."""
    if not background or not sys.platform.startswith("linux"):
        return fn(*args, **kwargs)
    context = contextvars.copy_context()  # the caller's run context (its logger) goes along
    with ThreadPoolExecutor(1, thread_name_prefix="background", initializer=_lower) as thread:
        return thread.submit(context.run, fn, *args, **kwargs).result()


def _lower() -> None:
    """Nice this thread only: on Linux a thread id is a PRIO_PROCESS target of its own."""
    me = threading.get_native_id()
    with contextlib.suppress(OSError):
        os.setpriority(os.PRIO_PROCESS, me, max(BACKGROUND_NICE, os.getpriority(os.PRIO_PROCESS, me)))
