"""The format registry: one explicit list of the built-in formats, each loaded when first asked for.

As tablib's ``register_builtins`` does, the formats are named here, in order, rather than
discovered, with what the pipeline needs to know of them (label, media type, file name,
version); a format's module is imported only when that format is exported or read, so a
build of the Word pack alone never imports reportlab or starts Java, and an up-to-date check
imports no exporter.
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
class Format:
    """What is known of a format without importing its exporter."""

    name: str  # format name used on the command line, e.g. "docx"
    label: str  # what readers call it, e.g. "Word briefing pack"
    media_type: str  # e.g. "application/pdf"
    suffix: str  # file name after "<publication-id>-", e.g. "briefing-pack.docx"
    version: str  # bump when output bytes change for the same input; part of the up-to-date check
    module: str  # defines export(publication, dest_dir), read_back(path) and, optionally, check(path)
    warm_check: bool = False  # its check starts a runtime (EPUBCheck's Java VM) worth keeping warm in a worker

    def filename(self, publication: Publication) -> str:
        return f"{publication.id}-{self.suffix}"


@dataclass(frozen=True)
class Exporter:
    """A format and its functions."""

    format: Format
    export: Callable[[Publication, Path], Path]  # writes dest_dir/<filename>, returns its path
    read_back: Callable[[Path], ReadBack]  # the passages as a reader's program sees them
    check: Callable[[Path], list[str]] | None  # the format's own validator; returns problems

    @property
    def name(self) -> str:
        return self.format.name


# The built-in formats, in the order an edition lists its files.
BUILTINS: dict[str, Format] = {
    f.name: f
    for f in (
        Format(
            "docx",
            "Word briefing pack",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            "briefing-pack.docx",
            "5",
            "exporters.docx",
        ),
        Format("epub", "EPUB reader", "application/epub+zip", "reader.epub", "6", "exporters.epub", warm_check=True),
        Format("pdf", "PDF handout", "application/pdf", "handout.pdf", "7", "exporters.pdf"),
    )
}


def names() -> list[str]:
    """Every format name, without importing any exporter."""
    return list(BUILTINS)


def listed(publication: Publication) -> list[str]:
    """The formats an edition of ``publication`` holds: its ``formats:``, else every one."""
    return list(publication.formats or BUILTINS)


def describe(name: str) -> Format:
    """Format ``name``'s description, without importing its exporter."""
    if name not in BUILTINS:
        raise KeyError(f"unknown format '{name}'; known formats: {', '.join(BUILTINS)}")
    return BUILTINS[name]


def versions(formats: list[str]) -> dict[str, str]:
    """Each format's exporter version, without importing the exporters."""
    return {name: describe(name).version for name in formats}


@functools.cache
def get(name: str) -> Exporter:
    """The exporter of format ``name``, its module imported on first use."""
    described = describe(name)
    module = importlib.import_module(described.module)
    return Exporter(described, module.export, module.read_back, getattr(module, "check", None))


def registry() -> dict[str, Exporter]:
    """Every exporter by name (imports them all)."""
    return {name: get(name) for name in BUILTINS}
