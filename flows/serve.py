"""The build-and-publish deployments, one per publication with its schedule: served by
`briefkit serve`, or declared in prefect.yaml for a work pool by `briefkit deploy`.

Both come from the same plan, so a worker and ``serve`` never disagree about a schedule.
A publication's own ``schedule:`` and ``timezone:`` (publication.yaml) win over the ``--cron``
and ``--timezone`` defaults.
Runs appear as ``build-and-publish/<publication-id>`` and can also be started from the UI or
with ``prefect deployment run build-and-publish/<publication-id>``.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path

import yaml
from prefect import serve
from prefect.client.schemas.schedules import CronSchedule, IntervalSchedule
from prefect.deployments.runner import RunnerDeployment
from pydantic import ValidationError
from rich.console import Console

import flows.console  # noqa: F401  (quiet Prefect before it loads)
from briefkit.loader import load_publication
from flows.publish import build_and_publish

ENTRYPOINT = "flows/publish.py:build_and_publish"
PREFECT_YAML_HEADER = """\
# Written by `briefkit deploy` from the publications under source/; `briefkit deploy --check`
# says whether it is current. One build-and-publish deployment per publication, with the
# schedule `briefkit serve` would give it, for a work pool and its workers:
#
#   prefect work-pool create {pool} --type process
#   prefect deploy --all    (from this directory)
#   prefect worker start --pool {pool}    (on each machine with a checkout and .venv)
#
# Workers run each flow in the directory they were started in, so source/ and output/ resolve there.
"""


class ScheduleRejected(ValueError):
    """Prefect's scheduler does not take a schedule that briefkit's own check let through."""


@dataclass(frozen=True)
class Planned:
    """One publication's deployment: when it runs."""

    directory: Path
    cron: str  # "" for on demand only
    timezone: str

    @property
    def name(self) -> str:
        return self.directory.name

    def schedule(self) -> CronSchedule | None:
        """Prefect's own schedule; its rules, not cronsim's, decide in the end (e.g. ``5L``)."""
        if not self.cron:
            return None
        try:
            return CronSchedule(cron=self.cron, timezone=self.timezone)
        except ValidationError as exc:
            message = exc.errors()[0]["msg"].removeprefix("Value error, ")
            raise ScheduleRejected(f"{self.name}: Prefect cannot schedule '{self.cron}': {message}") from None


def plan(directories: list[Path], cron: str, timezone: str) -> list[Planned]:
    """Each publication's deployment, its schedule checked by Prefect (raises ScheduleRejected)."""
    planned = []
    for directory in directories:
        publication, _ = load_publication(directory)
        own_cron, own_timezone = (publication.schedule, publication.timezone) if publication else ("", "")
        entry = Planned(directory, own_cron or cron, own_timezone or timezone)
        entry.schedule()
        planned.append(entry)
    return planned


def prefect_yaml(planned: list[Planned], pool: str) -> str:
    """prefect.yaml declaring the planned deployments for work pool ``pool``."""
    deployments = [
        {
            "name": p.name,
            "entrypoint": ENTRYPOINT,
            "description": f"Build {p.name}, then update the portal and mail its readers.",
            "tags": ["briefkit"],
            "parameters": {"publication": p.name},
            "concurrency_limit": 1,
            "schedules": [{"cron": p.cron, "timezone": p.timezone}] if p.cron else [],
            "work_pool": {"name": pool, "work_queue_name": "default"},
        }
        for p in planned
    ]
    document = {
        "name": "briefkit",
        "prefect-version": "3.9.1",
        "build": None,
        "push": None,
        "pull": [{"prefect.deployments.steps.set_working_directory": {"directory": "{{ $PWD }}"}}],
        "deployments": deployments,
    }
    return PREFECT_YAML_HEADER.format(pool=pool) + yaml.safe_dump(document, sort_keys=False, allow_unicode=True)


def runner_deployments(
    planned: list[Planned], interval: float, output: Path, strict: bool = False
) -> list[RunnerDeployment]:
    deployments = []
    for p in planned:
        schedule = p.schedule()
        if interval and not schedule:
            schedule = IntervalSchedule(interval=dt.timedelta(seconds=interval))
        deployments.append(
            build_and_publish.to_deployment(
                name=p.name,
                parameters={
                    "publication": str(p.directory.resolve()),
                    "output_dir": str(output.resolve()),
                    "strict": strict,
                },
                description=f"Build {p.name} into {output}/{p.name}/, then update the portal and mail its readers",
                tags=["briefkit"],
                concurrency_limit=1,  # a run due while the last one still builds waits for it, not for its lock
                schedules=[schedule] if schedule else [],
            )
        )
    return deployments


def serve_builds(planned: list[Planned], interval: float, output: Path, strict: bool, console: Console) -> None:
    """Serve until interrupted (Ctrl-C)."""
    # Each run prints one line as it ends (flows.publish); its whole log, tracebacks too, is on the server.
    os.environ["PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL"] = "CRITICAL"
    deployments = runner_deployments(planned, interval, output, strict)
    for d in deployments:
        when = d.schedules[0].schedule if d.schedules else "on demand only"
        console.print(f"serving build-and-publish/{d.name}: {when}", markup=False, highlight=False)
    serve(*deployments, print_starting_message=False)
