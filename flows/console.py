"""Running the build flows from the command line: quiet Prefect, live progress."""

from __future__ import annotations

import contextlib
import functools
import logging
from collections.abc import Iterator
from pathlib import Path

import flows.quiet  # noqa: F401 - before prefect is imported

# isort: split
from prefect.logging.handlers import PrefectConsoleHandler
from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings
from prefect.states import State
from rich.console import Console
from rich.text import Text

from flows.build import BuildFailed, add_listener, build, build_all, remove_listener
from flows.outcomes import Outcome, print_progress
from flows.runners import task_runner


def run_build(
    directories: list[Path],
    formats: list[str] | None,
    strict: bool,
    force: bool,
    output: Path,
    dask: str,
    console: Console,
) -> list[Outcome] | None:
    """Run the build flow (build_all for several publications); None when the run crashed."""
    params = {"formats": formats, "strict": strict, "force": force, "output_dir": str(output)}
    if len(directories) == 1:
        flow, params["publication"] = build, str(directories[0])
    else:
        flow, params["publications"] = build_all, [str(d) for d in directories]
    if dask:
        flow = flow.with_options(task_runner=task_runner(dask))

    show = functools.partial(print_progress, console)
    # No heartbeat thread: joining it costs up to a second per run, and heartbeats only
    # matter to runs that a worker or `serve` started and nobody watches.
    with (
        console.status("starting the build flow…"),
        temporary_settings({PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}),
        prefect_console_off(),
    ):
        add_listener(show)
        try:
            state = flow(**params, return_state=True)
        finally:
            remove_listener(show)
    outcomes, why = outcomes_of(state)
    if outcomes is None:
        console.print(Text(why, style="bold red"), soft_wrap=True)
    return outcomes


def outcomes_of(state: State) -> tuple[list[Outcome] | None, str]:
    """A build run's outcomes; or None, and why, when the run ended without them (it crashed)."""
    result = state.result(raise_on_failure=False)
    if isinstance(result, BuildFailed):
        return result.outcomes, ""
    if isinstance(result, list):
        return result, ""
    return None, f"the build run ended {state.name}: {state.message or result}"


@contextlib.contextmanager
def prefect_console_off() -> Iterator[None]:
    """Prefect's log on the console off while the command runs a flow whose outcome it shows
    itself: the run's log (each diagnostic again, "NoneType: None" for a task that returned
    Failed) stays on the server. Only this process: the server and worker it may start keep theirs."""
    handlers = [h for h in logging.getLogger().handlers if isinstance(h, PrefectConsoleHandler)]
    levels = [h.level for h in handlers]
    for handler in handlers:
        handler.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        for handler, level in zip(handlers, levels, strict=True):
            handler.setLevel(level)
