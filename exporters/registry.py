"""The format registry: format name -> Exporter, discovered from the modules of this package."""

from __future__ import annotations

import functools
import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import exporters
from briefkit.model import Publication

ReadBack = list[tuple[str, str]]  # (title, body text) per passage, in document order


@dataclass(frozen=True)
class Exporter:
    """What the pipeline needs to know about one format."""

    name: str  # format name used on the command line, e.g. "docx"
    suffix: str  # file name after "<publication-id>-", e.g. "briefing-pack.docx"
    version: str  # bump when output bytes change for the same input; part of cache keys
    export: Callable[[Publication, Path], Path]  # writes dest_dir/<filename>, returns its path
    read_back: Callable[[Path], ReadBack]  # the passages as a reader's program sees them
    # How many passages the file has, and those in a range, read as read_back reads them:
    # lets the build verify a long file in parts, on several workers at once.
    read_back_range: Callable[[Path, range], tuple[int, ReadBack]] | None = None
    check: Callable[[Path], list[str]] | None = None  # format validator; returns problems
    external_check: bool = False  # check mostly waits on another program (e.g. a JVM), not on Python
    # Readies ``check`` ahead of the first file (e.g. starts the program it runs); safe to
    # call from a background thread, and any number of times.
    warm_up: Callable[[], None] | None = None

    def filename(self, publication: Publication) -> str:
        return f"{publication.id}-{self.suffix}"


@functools.cache
def registry() -> dict[str, Exporter]:
    found: dict[str, Exporter] = {}
    for info in pkgutil.iter_modules(exporters.__path__):
        module = importlib.import_module(f"exporters.{info.name}")
        exporter = getattr(module, "EXPORTER", None)
        if isinstance(exporter, Exporter):
            found[exporter.name] = exporter
    return dict(sorted(found.items()))


def get(name: str) -> Exporter:
    try:
        return registry()[name]
    except KeyError:
        raise KeyError(f"unknown format '{name}'; known formats: {', '.join(registry())}") from None
