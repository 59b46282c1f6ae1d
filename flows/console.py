"""Running the flows from the command line: quiet Prefect, live progress, a result table."""

from __future__ import annotations

from pathlib import Path

import flows.quiet  # noqa: F401 - before prefect is imported

# isort: split
from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings
from rich.console import Console
from rich.table import Table
from rich.text import Text

from briefkit import report
from flows.build import BuildFailed, Outcome, add_listener, build, build_all, remove_listener, task_runner

_STATUS_STYLE = {"published": "bold green", "up to date": "green", "invalid": "bold red", "failed": "bold red"}


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

    def show(publication_id: str, message: str) -> None:
        style = "red" if "failed" in message or message in ("invalid", "locked", "refused") else "dim"
        console.print(Text.assemble(("  " + publication_id, "bold"), "  ", (message, style)), soft_wrap=True)

    # No heartbeat thread: joining it costs up to a second per run, and heartbeats only
    # matter to runs that a worker or `serve` started and nobody watches.
    with console.status("starting the build flow…"), temporary_settings({PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
        add_listener(show)
        try:
            state = flow(**params, return_state=True)
        finally:
            remove_listener(show)
    result = state.result(raise_on_failure=False)
    if isinstance(result, BuildFailed):
        return result.outcomes
    if isinstance(result, list):
        return result
    console.print(
        Text(f"the build run ended {state.name}: {state.message or result}", style="bold red"), soft_wrap=True
    )
    return None


def print_outcomes(outcomes: list[Outcome], console: Console) -> None:
    """Diagnostics of what was invalid, then one table of every publication and file."""
    for outcome in outcomes:
        if outcome.diagnostics:
            report.print_text(list(outcome.diagnostics), console)
    table = Table(title="briefkit build", title_justify="left")
    for column in ("publication", "status", "edition", "file", "bytes", "sha256"):
        table.add_column(column, justify="right" if column == "bytes" else "left", overflow="fold")
    for o in outcomes:
        status = Text(o.status, style=_STATUS_STYLE.get(o.status, ""))
        if o.manifest is None:
            table.add_row(o.publication_id, status, "", Text(o.reason), "", "")
            continue
        for n, f in enumerate(o.manifest.files):
            first = n == 0
            table.add_row(
                o.publication_id if first else "",
                status if first else "",
                o.manifest.edition_id if first else "",
                f.name,
                f"{f.bytes:,}",
                f.sha256[:12],
            )
    console.print(table)
    for o in outcomes:
        if o.directory is not None:
            console.print(Text(f"{o.publication_id}: {o.directory}", style="dim"), soft_wrap=True)
