"""The build run's artifacts: one markdown card per publication, keyed by its id, in the Prefect UI."""

from __future__ import annotations

import re

from prefect.artifacts import create_markdown_artifact

from flows.outcomes import Outcome


def report(outcomes: list[Outcome]) -> None:
    """One markdown artifact per publication, keyed by its id: every file with size and checksum, or why not."""
    for outcome in outcomes:
        create_markdown_artifact(
            key=f"build-{outcome.publication_id}",
            markdown=_markdown(outcome),
            description=f"briefkit build of {outcome.publication_id}: files and checksums",
        )


def _markdown(outcome: Outcome) -> str:
    lines = [f"## {outcome.publication_id}: {outcome.status}"]
    if outcome.reason:
        lines.append(f"\n{markdown_text(outcome.reason)}")
    if outcome.notes:
        lines += ["", *(f"- {markdown_text(note)}" for note in outcome.notes)]
    if outcome.diagnostics:
        lines += ["", "| where | severity | code | problem | fix |", "|---|---|---|---|---|"]
        lines += [
            f"| {markdown_text(d.location())} | {d.severity.value} | {d.code} | {markdown_text(d.message)} | {markdown_text(d.hint)} |"
            for d in outcome.diagnostics
        ]
    if outcome.manifest is not None:
        m = outcome.manifest
        said = f", correction of {m.corrects}" if m.corrects else ""
        lines += [f"\n{m.status} edition {m.edition_id}{said}, content hash `{m.content_hash[:16]}`", ""]
        lines += ["| file | format | bytes | sha256 |", "|---|---|---:|---|"]
        lines += [f"| {markdown_text(f.name)} | {f.format} | {f.bytes:,} | `{f.sha256}` |" for f in m.files]
    return "\n".join(lines)


def markdown_text(text: str) -> str:
    """``text`` as literal Markdown on one line, safe in a table cell of a run artifact."""
    return re.sub(r"([|\\`*_<>\[\]])", r"\\\1", text).replace("\n", " ")
