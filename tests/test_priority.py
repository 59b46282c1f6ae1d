"""flows.priority: background work runs niced in a thread of its own, and nothing else changes."""

from __future__ import annotations

import contextvars
import os
import sys
import threading

import pytest

from flows import priority

LINUX = sys.platform.startswith("linux")
WHO = contextvars.ContextVar("who", default="nobody")


def _where() -> tuple[int, int, str]:
    """This thread's id and nice value, and a context variable of the caller's."""
    me = threading.get_native_id()
    return me, os.getpriority(os.PRIO_PROCESS, me if LINUX else 0), WHO.get()


def test_foreground_work_runs_here_as_it_is() -> None:
    assert priority.call(False, _where) == _where()


@pytest.mark.skipif(not LINUX, reason="threads have nice values of their own on Linux only")
def test_background_work_runs_niced_in_a_thread_of_its_own_and_the_caller_stays_as_it_was() -> None:
    before = _where()
    WHO.set("the task")
    thread, nice, who = priority.call(True, _where)
    assert thread != before[0] and nice >= max(priority.BACKGROUND_NICE, before[1])
    assert who == "the task"  # the caller's context (Prefect's run context) goes along
    assert _where()[:2] == before[:2]  # the caller's own priority is untouched


def test_background_work_returns_and_raises_as_the_function_does() -> None:
    assert priority.call(True, sorted, [3, 1, 2], reverse=True) == [3, 2, 1]
    with pytest.raises(ZeroDivisionError):
        priority.call(True, divmod, 1, 0)
