"""The format registry: one explicit list of the built-in formats, each loaded when first asked for.

As tablib's ``register_builtins`` does, the formats are named here, in order, rather than
discovered; a format's module is imported only when that format is used, so a build of the
Word pack alone never imports reportlab or starts Java.
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from briefkit.model import Publication

ReadBack = list[tuple[str, str]]  # (title, body text) per passage, in document order


@dataclass(frozen=True)
class Exporter:
    """What the pipeline needs to know about one format."""

    name: str  # format name used on the command line, e.g. "docx"
    label: str  # what readers call it, e.g. "Word briefing pack"
    media_type: str  # e.g. "application/pdf"
    suffix: str  # file name after "<publication-id>-", e.g. "briefing-pack.docx"
    version: str  # bump when output bytes change for the same input; part of the up-to-date check
    export: Callable[[Publication, Path], Path]  # writes dest_dir/<filename>, returns its path
    read_back: Callable[[Path], ReadBack]  # the passages as a reader's program sees them
    check: Callable[[Path], list[str]] | None = None  # the format's own validator; returns problems

    def filename(self, publication: Publication) -> str:
        return f"{publication.id}-{self.suffix}"


# format name -> the module that defines its EXPORTER, in the order formats are listed
BUILTINS: dict[str, str] = {
    "docx": "exporters.docx",
    "epub": "exporters.epub",
    "pdf": "exporters.pdf",
}


def names() -> list[str]:
    """Every format name, without importing any exporter."""
    return list(BUILTINS)


@functools.cache
def get(name: str) -> Exporter:
    """The exporter of format ``name``, its module imported on first use."""
    if name not in BUILTINS:
        raise KeyError(f"unknown format '{name}'; known formats: {', '.join(BUILTINS)}")
    exporter = importlib.import_module(BUILTINS[name]).EXPORTER
    assert isinstance(exporter, Exporter) and exporter.name == name, BUILTINS[name]
    return exporter


def registry() -> dict[str, Exporter]:
    """Every exporter by name (imports them all)."""
    return {name: get(name) for name in BUILTINS}
