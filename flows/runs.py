"""Flow run names that say what a run made: ``<publication-id>-<edition>``, e.g.
``support-for-ukraine-2026-12-03`` or, for a same-day correction, ``…-2026-12-03-r2``.

A run is named after its publication when it starts (``flow_run_name=publication_run_name``);
the edition, its revision above all, is chosen only when it is published, so the run is
renamed then (``name_run``) through the stock client.
"""

from __future__ import annotations

from pathlib import Path

from prefect.client.orchestration import get_client
from prefect.context import FlowRunContext
from prefect.runtime import flow_run


def publication_run_name() -> str:
    """The publication's id, from the run's ``publication`` parameter (an id or a directory)."""
    return Path(str(flow_run.parameters["publication"])).resolve().name


def name_run(publication_id: str, edition_id: str) -> str:
    """Rename the current flow run ``<publication-id>-<edition>``; the name."""
    name = f"{publication_id}-{edition_id}"
    context = FlowRunContext.get()
    if context is None or context.flow_run is None:
        return name
    with get_client(sync_client=True) as client:
        client.update_flow_run(context.flow_run.id, name=name)
    context.flow_run.name = name  # what hooks, logs and lock holders read from here on
    return name
