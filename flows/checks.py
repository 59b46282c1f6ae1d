"""Each format's own check (EPUBCheck for the EPUB), run where Java is already warm when it can be.

EPUBCheck runs in a Java VM whose start costs a one-off command seconds. So the local
worker (flows.worker) serves ``format_check`` and keeps its VM warm for every later run; a
build run elsewhere hands the checks of such formats (``Format.warm_check``) to that worker
when it serves the run's API, and checks in its own process otherwise (a server of the
team's own, a worker that stopped, or the worker's own runs). The other formats' checks are plain Python and
run in the build itself: handing them over costs more than they do.
"""

from __future__ import annotations

import time
from pathlib import Path

from prefect import task
from prefect.cache_policies import NO_CACHE
from prefect.settings import PREFECT_API_URL

from exporters import registry
from flows import local

# A check takes seconds; a worker that has not answered by then has stopped or hangs, and one
# that has not taken the check by PICKUP_SECONDS has stopped or missed it: the build checks itself.
WORKER_SECONDS = 300.0
PICKUP_SECONDS = 30.0
# How often the build looks at the check's state besides waiting for its completion event,
# which can be missed (PrefectHQ/prefect#18775): then the wait would last WORKER_SECONDS.
POLL_SECONDS = 2.0


@task(
    name="format-check", task_run_name="format-check-{fmt}-{publication_id}", persist_result=True, cache_policy=NO_CACHE
)
def format_check(fmt: str, path: str, publication_id: str) -> list[str]:
    """Format ``fmt``'s own validator on ``path``: its problems, none when valid."""
    validator = registry.get(fmt).check
    return validator(Path(path)) if validator is not None else []


def problems(fmt: str, path: Path, publication_id: str) -> list[str]:
    """The check's problems, from the local worker when the format's check is worth keeping warm
    and that worker serves this run's API, else from here."""
    if registry.describe(fmt).warm_check and local.checker_serves(str(PREFECT_API_URL.value() or "")):
        try:
            if (found := _from_worker(fmt, path, publication_id)) is not None:
                return found
        except TimeoutError:
            pass  # no answer: check here
    return format_check.fn(fmt, str(path), publication_id)


def _from_worker(fmt: str, path: Path, publication_id: str) -> list[str] | None:
    """The worker's problems for the check, or None when it has not answered in time."""
    future = format_check.delay(fmt, str(path.absolute()), publication_id)  # the worker has a directory of its own
    start = time.monotonic()
    while (waited := time.monotonic() - start) < WORKER_SECONDS:
        future.wait(timeout=POLL_SECONDS)  # ends at the completion event, if it arrives
        state = future.state
        if state.is_final():
            return future.result()
        if state.is_scheduled() and waited > PICKUP_SECONDS:
            return None
    return None
