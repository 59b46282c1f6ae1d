"""The local worker: the process that ``briefkit server start`` keeps beside the local Prefect
server (flows.local), with Prefect, the exporters and their fonts loaded and EPUBCheck's Java VM warm.

It serves format checks (flows.checks) to builds that run elsewhere, and it runs on-demand
builds itself. Prefect's own runners start every run in a fresh interpreter, whose imports
cost a command seconds; so ``briefkit build`` creates a run of the build flow, tagged
``handoff.TAG``, through the API and wakes this process (flows.handoff), which runs the flow
here, in a thread, and leaves the outcome where the command reads it. A run with no
deployment: a deployment's run also watches for suspension, which costs it a third of a second.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import pickle
import tempfile
import threading
import time
from pathlib import Path

import flows.quiet  # noqa: F401 - before prefect is imported

# isort: split
from prefect import Flow, get_client
from prefect.client.schemas.filters import (
    FlowFilter,
    FlowFilterId,
    FlowRunFilter,
    FlowRunFilterState,
    FlowRunFilterStateType,
    FlowRunFilterTags,
)
from prefect.client.schemas.objects import FlowRun, StateType
from prefect.client.schemas.responses import SetStateStatus
from prefect.context import FlowRunContext, get_run_context
from prefect.flow_engine import run_flow
from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings
from prefect.states import Pending
from prefect.task_worker import TaskWorker

from briefkit.importer import write_skeleton
from briefkit.loader import load_publication
from exporters import registry
from flows import handoff, local
from flows.build import add_listener, build, build_all
from flows.checks import format_check
from flows.console import outcomes_of

POLL_SECONDS = 10.0  # in case a wake-up was missed (a command woke the worker as it started)
KEEP_OUTCOMES_SECONDS = 3600.0  # an outcome no command read (its command was interrupted) is removed after


async def _take_runs(wake: asyncio.Event) -> None:
    """Run every scheduled run handed to the worker, as it is woken or every POLL_SECONDS."""
    async with get_client() as client:
        flows = {str(await client.create_flow(flow)): flow for flow in (build, build_all)}
        while True:
            handed = FlowRunFilter(
                tags=FlowRunFilterTags(all_=[handoff.TAG]),
                state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.SCHEDULED])),
            )
            ours = FlowFilter(id=FlowFilterId(any_=list(flows)))
            for run in await client.read_flow_runs(flow_filter=ours, flow_run_filter=handed):
                # Pending is accepted once: a second look, or a second worker, cannot take the run again
                if (await client.set_flow_run_state(run.id, Pending())).status == SetStateStatus.ACCEPT:
                    args = (flows[str(run.flow_id)], run)
                    threading.Thread(target=_run, args=args, name=f"run-{run.id}", daemon=True).start()
            _remove_unread_outcomes()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), POLL_SECONDS)
            wake.clear()


def _run(flow: Flow, run: FlowRun) -> None:
    try:
        # no heartbeat thread, as in the command's own runs (flows.console): joining it costs a second a run
        with temporary_settings({PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
            outcome = outcomes_of(run_flow(flow, flow_run=run, return_type="state"))
    except Exception as exc:  # noqa: BLE001 - the command waiting on the run is told, and the worker goes on
        outcome = None, f"the local worker could not run the build: {type(exc).__name__}: {exc}"
    path = handoff.outcome_file(str(run.id))
    tmp = path.with_suffix(".tmp")
    # pickle: written by this process for a command of the same user and the same code (flows.local checks it)
    tmp.write_bytes(pickle.dumps(outcome))
    tmp.replace(path)


def _note_progress(publication_id: str, message: str) -> None:
    """Adds a line to the progress file of the run this is part of, for the command that waits on it."""
    context = get_run_context()
    run_id = context.flow_run.id if isinstance(context, FlowRunContext) else context.task_run.flow_run_id
    with handoff.progress_file(str(run_id)).open("a", encoding="utf-8") as f:
        f.write(json.dumps([publication_id, message]) + "\n")


def _remove_unread_outcomes() -> None:
    for path in handoff.runs_dir().iterdir():
        with contextlib.suppress(OSError):
            if time.time() - path.stat().st_mtime > KEEP_OUTCOMES_SECONDS:
                path.unlink()


def _warm_up() -> None:
    """Export and read back a new publication's skeleton in every format, and check it: the
    first build should not be the one to load the exporters and their fonts and dictionaries,
    or to start EPUBCheck's Java VM."""
    with tempfile.TemporaryDirectory() as work:
        write_skeleton(Path(work) / "warm-up", "Warm-up")
        publication, _ = load_publication(Path(work) / "warm-up")
        for name in registry.names():
            exporter = registry.get(name)
            path = exporter.export(publication, Path(work))  # type: ignore[arg-type]
            exporter.read_back(path)
            if exporter.check is not None:
                exporter.check(path)


async def main() -> None:
    handoff.runs_dir().mkdir(mode=0o700, parents=True, exist_ok=True)
    add_listener(_note_progress)
    wake = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(handoff.WAKE_SIGNAL, wake.set)
    # checks are served at once: the command that started the server is building meanwhile, and hands its EPUB's over
    checks = asyncio.create_task(TaskWorker(format_check).astart())
    await asyncio.to_thread(_warm_up)
    local.ready_file().write_text(str(os.getpid()), encoding="utf-8")  # commands may hand builds over from now
    await asyncio.gather(checks, _take_runs(wake))


if __name__ == "__main__":
    asyncio.run(main())
