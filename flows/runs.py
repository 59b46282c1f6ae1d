"""Flow run names that say what a run made: ``<publication-id>-<edition>``, e.g.
``support-for-ukraine-2026-12-03`` or, for a same-day correction, ``…-2026-12-03-r2``; a
``build-all`` run joins its publications' names with ``+``.

A run is named after its publications when it starts (``flow_run_name=publication_run_name``
or ``publications_run_name``); the edition, its revision above all, is chosen only when it is
published, so the run is renamed once it is known (``name_run``) through the stock client,
also when it failed before publishing (then the edition is the date it was to have).
"""

from __future__ import annotations

from pathlib import Path

from prefect.client.orchestration import get_client
from prefect.context import FlowRunContext
from prefect.runtime import flow_run

from briefkit.loader import publication_dirs
from briefkit.settings import get_settings
from flows.outcomes import Outcome


def publication_run_name() -> str:
    """The publication's id, from the run's ``publication`` parameter (an id or a directory)."""
    return Path(str(flow_run.parameters["publication"])).resolve().name


def publications_run_name() -> str:
    """The ids of a ``build-all`` run's publications (default: every one under the source directory), joined by ``+``."""
    given = flow_run.parameters.get("publications") or publication_dirs(get_settings().source_dir)
    return "+".join(Path(str(p)).resolve().name for p in given) or "build-all"


def run_name(outcomes: list[Outcome]) -> str:
    """``<publication-id>-<edition>`` of each outcome, joined by ``+``; an id alone when it was invalid."""
    return "+".join(f"{o.publication_id}-{o.edition_id}" if o.edition_id else o.publication_id for o in outcomes)


def name_run(outcomes: list[Outcome]) -> str:
    """Rename the current flow run after what it built (``run_name``); the name."""
    name = run_name(outcomes)
    context = FlowRunContext.get()
    if not name or context is None or context.flow_run is None or context.flow_run.name == name:
        return name
    with get_client(sync_client=True) as client:
        client.update_flow_run(context.flow_run.id, name=name)
    context.flow_run.name = name  # what hooks, logs and lock holders read from here on
    return name
