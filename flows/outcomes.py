"""What a build did for each publication, how the command line shows it, and the check that
finds a publication already built, without Prefect.

``already_built`` takes the same steps as the start of a build run (validate, lock, repair
what an interrupted run left, compare with the day's current edition) with no flow run, so
an on-demand ``briefkit build`` with nothing to do answers at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.table import Table
from rich.text import Text

from briefkit import publishing, report
from briefkit.atomic import UnsafePath
from briefkit.diagnostics import Diagnostic
from briefkit.loader import load_publication
from briefkit.manifest import Manifest, briefkit_version
from briefkit.model import Publication
from exporters import registry

_STATUS_STYLE = {
    "published": "bold green",
    "up to date": "green",
    "invalid": "bold red",
    "locked": "bold red",
    "failed": "bold red",
}


@dataclass(frozen=True)
class Outcome:
    """What one build did for one publication."""

    publication_id: str
    status: str  # "published", "draft" (a new edition kept from readers), "up to date", "invalid", "locked" or "failed"
    reason: str = ""
    diagnostics: tuple[Diagnostic, ...] = ()
    manifest: Manifest | None = None
    directory: Path | None = None
    notes: tuple[str, ...] = ()  # e.g. formats rebuilt or carried over beyond those asked for
    edition: str = ""  # without a manifest: the day's edition it was to make (its date); "" when invalid

    @property
    def edition_id(self) -> str:
        """The edition it published or found up to date, else the one it was to make; "" when invalid."""
        return self.manifest.edition_id if self.manifest is not None else self.edition

    @property
    def ok(self) -> bool:
        return self.status in ("published", "draft", "up to date")


def stops_build(publication: Publication | None, diagnostics: list[Diagnostic], strict: bool) -> bool:
    """Whether validation stops a build: an error (no publication), or any finding when strict
    (``--strict``, or the publication's ``strict: true``)."""
    return publication is None or ((strict or publication.strict) and bool(diagnostics))


def already_built(directory: Path, formats: list[str] | None, strict: bool, output: Path) -> Outcome | None:
    """The "up to date" outcome when the day's current edition is what a build would publish;
    None when a build run must decide (something to build, or something to report)."""
    publication, diagnostics = load_publication(directory, known_formats=registry.names())
    if publication is None or stops_build(publication, diagnostics, strict):
        return None
    listed = registry.listed(publication)
    if any(f not in listed for f in formats or []):
        return None
    try:
        with publishing.lock(output, publication.id, "briefkit build (checking it is up to date)"):
            publishing.clear_staging(output, publication.id)
            current = publishing.up_to_date(output, publication, registry.versions(listed), briefkit_version())
    except (publishing.PublicationLocked, publishing.ReservedPublicationId, UnsafePath, OSError):
        return None  # the build run says why
    if current is None:
        return None
    return Outcome(publication.id, "up to date", "", tuple(diagnostics), current.manifest, current.directory)


def print_progress(console: Console, publication_id: str, message: str) -> None:
    """One line of a build's progress."""
    style = "red" if "failed" in message or message in ("invalid", "locked", "refused") else "dim"
    console.print(Text.assemble(("  " + publication_id, "bold"), "  ", (message, style)), soft_wrap=True)


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
