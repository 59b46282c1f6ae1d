"""Handing an on-demand build to the local worker (flows.worker), through Prefect's REST API,
without importing Prefect: importing it costs the command seconds that the worker has paid once.

A build is handed over only when the run would be the same in the worker: the local server
briefkit started is where this command's runs would report (no PREFECT_API_URL or Prefect
configuration points elsewhere), its worker runs this code and is ready, and it was started from the same
working directory with the same settings (flows.local.run_context). Otherwise, and with
--dask, the command runs the flow itself (flows.console).
"""

from __future__ import annotations

import json
import os
import pickle
import signal
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
from rich.console import Console

from flows import local
from flows.outcomes import Outcome, print_progress

TAG = "local-worker"  # marks the runs handed to the worker
WAKE_SIGNAL = signal.SIGUSR1  # tells the worker a run is waiting
POLL_SECONDS = 0.05
STATE_EVERY = 20  # polls between looks at the run's state and the worker's life
FINAL = {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}
OUTCOME_GRACE_SECONDS = 10.0  # after the run ended, for the worker to write its outcome


def runs_dir() -> Path:
    """Where the worker leaves each handed run's progress and outcome."""
    return local.prefect_home() / "briefkit-runs"


def outcome_file(run_id: str) -> Path:
    return runs_dir() / f"{run_id}.pickle"


def progress_file(run_id: str) -> Path:
    """The run's progress, a JSON line [publication id, message] each, as the command shows it."""
    return outcome_file(run_id).with_suffix(".progress")


def worker_for(dask: str) -> local.LocalServer | None:
    """The local server whose worker can take this command's build, or None."""
    if dask or local.configured_elsewhere():
        return None
    server = local.running()
    return server if server is not None and refusal(server) is None else None


def refusal(server: local.LocalServer) -> str | None:
    """Why ``server``'s worker cannot take this command's build, or None when it can."""
    if not local.takes_builds(server):
        return "the warm worker is not ready"
    if server.checker_context != local.run_context(os.environ):
        return "the warm worker was started from another directory or with other settings"
    return None


def run(
    server: local.LocalServer,
    directories: list[Path],
    formats: list[str] | None,
    strict: bool,
    force: bool,
    output: Path,
    console: Console,
) -> tuple[list[Outcome] | None, str]:
    """Run the build in the worker: its outcomes, or None and why the run ended without them."""
    params: dict[str, object] = {"formats": formats, "strict": strict, "force": force, "output_dir": str(output)}
    if len(directories) == 1:
        flow, params["publication"] = "build", str(directories[0])
    else:
        flow, params["publications"] = "build-all", [str(d) for d in directories]
    with httpx.Client(base_url=server.api_url, timeout=30) as api:
        flow_id = api.post("/flows/", json={"name": flow}).raise_for_status().json()["id"]  # the flow's, made once
        run = {"flow_id": flow_id, "parameters": params, "tags": [TAG], "state": {"type": "SCHEDULED"}}
        created = api.post("/flow_runs/", json=run).raise_for_status().json()
        os.kill(server.checker_pid, WAKE_SIGNAL)
        url = f"{server.ui_url}runs/flow-run/{created['id']}"
        try:
            with console.status(f"building in the local worker ({url})…"):
                return _outcome(api, server, created["id"], console)
        except KeyboardInterrupt:
            console.print(f"the build goes on in the local worker: {url}", style="dim", soft_wrap=True)
            raise


def _outcome(
    api: httpx.Client, server: local.LocalServer, run_id: str, console: Console
) -> tuple[list[Outcome] | None, str]:
    path, ended, polls = outcome_file(run_id), None, 0
    progress = _Progress(progress_file(run_id), console)
    while not path.exists():
        progress.show()
        polls += 1
        if polls % STATE_EVERY == 0:
            state = api.get(f"/flow_runs/{run_id}").raise_for_status().json()["state"] or {}
            if ended is None and state.get("type") in FINAL:
                ended = time.monotonic()
            if not local.alive(server.checker_pid) or (ended and time.monotonic() - ended > OUTCOME_GRACE_SECONDS):
                # a run left Scheduled would be taken by the next worker, long after anyone asked for it
                cancel = {"type": "CANCELLED", "message": "the local worker stopped before it ran the build"}
                api.post(f"/flow_runs/{run_id}/set_state", json={"state": cancel})
                return None, f"the build run ended {state.get('name', 'unfinished')}: the local worker gave no outcome"
        time.sleep(POLL_SECONDS)
    progress.show()
    outcome = pickle.loads(path.read_bytes())  # the worker's, for this user and code (see worker_for)
    path.unlink()
    progress.path.unlink(missing_ok=True)
    return outcome


@dataclass
class _Progress:
    """Shows the lines the worker adds to a run's progress file."""

    path: Path
    console: Console
    shown: int = 0  # bytes of the file shown

    def show(self) -> None:
        try:
            with self.path.open("rb") as f:
                f.seek(self.shown)
                new = f.read()
        except FileNotFoundError:
            return
        complete = new[: new.rfind(b"\n") + 1]  # a line still being written waits
        self.shown += len(complete)
        for line in complete.decode().splitlines():
            print_progress(self.console, *json.loads(line))
