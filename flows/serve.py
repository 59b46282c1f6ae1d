"""Serving the build-and-publish deployments: one per publication, with its schedule, for a Prefect server.

A publication's own ``schedule:`` (publication.yaml) wins over the ``--cron`` default.
Each run builds the publication, then publishes (portal and mail, flows/publish.py).
Runs appear as ``build-and-publish/<publication-id>`` and can also be started from the UI
or with ``prefect deployment run build-and-publish/<publication-id>``. prefect.yaml declares the same
deployments for a work pool and workers.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from prefect import serve
from prefect.client.schemas.schedules import CronSchedule
from prefect.deployments.runner import RunnerDeployment
from pydantic import ValidationError
from rich.console import Console

import flows.console  # noqa: F401  (quiet Prefect before it loads)
from briefkit.loader import load_publication
from flows.publish import build_and_publish


class ScheduleRejected(ValueError):
    """Prefect's scheduler does not take a schedule that briefkit's own check let through."""


def build_deployments(directories: list[Path], cron: str, interval: float, output: Path) -> list[RunnerDeployment]:
    deployments = []
    for directory in directories:
        publication, _ = load_publication(directory)
        schedule = (publication.schedule if publication else "") or cron
        timing: dict[str, object] = {"cron": schedule} if schedule else {}
        if interval and not (publication and publication.schedule):
            timing = {"interval": dt.timedelta(seconds=interval)}
        if "cron" in timing:
            _check_schedule(directory.name, schedule)
        deployments.append(build_and_publish.to_deployment(
            name=directory.name,
            parameters={"publication": str(directory.resolve()), "output_dir": str(output.resolve())},
            description=f"Build {directory.name} into {output}/{directory.name}/, then update the portal and mail its readers",
            tags=["briefkit"],
            concurrency_limit=1,  # a run due while the last one still builds waits for it, not for its lock
            **timing,
        ))  # fmt: skip
    return deployments


def _check_schedule(name: str, cron: str) -> None:
    """Raise ScheduleRejected unless Prefect's scheduler takes ``cron``: its rules, not
    cronsim's, decide in the end, and they differ at the edges (e.g. ``5L``)."""
    try:
        CronSchedule(cron=cron)
    except ValidationError as exc:
        message = exc.errors()[0]["msg"].removeprefix("Value error, ")
        raise ScheduleRejected(f"{name}: Prefect cannot schedule '{cron}': {message}") from None


def serve_builds(directories: list[Path], cron: str, interval: float, output: Path, console: Console) -> None:
    """Serve until interrupted (Ctrl-C)."""
    deployments = build_deployments(directories, cron, interval, output)
    for d in deployments:
        when = d.schedules[0].schedule if d.schedules else "on demand only"
        console.print(f"serving build-and-publish/{d.name}: {when}", markup=False, highlight=False)
    serve(*deployments, print_starting_message=False)
