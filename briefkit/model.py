"""The canonical text model: one frozen tree that every exporter walks.

Inline and block nodes are deliberately few, so an exporter handles each kind with one
``match`` statement. ``plain_text`` defines the canonical reading of a passage: what
every exported document must give back when it is read.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

# ---- inline nodes -------------------------------------------------------------------


@dataclass(frozen=True)
class Text:
    text: str


@dataclass(frozen=True)
class Emph:
    children: tuple[Inline, ...]


@dataclass(frozen=True)
class Strong:
    children: tuple[Inline, ...]


@dataclass(frozen=True)
class Code:
    text: str


@dataclass(frozen=True)
class Link:
    href: str
    children: tuple[Inline, ...]


Inline = Text | Emph | Strong | Code | Link

# ---- block nodes --------------------------------------------------------------------


@dataclass(frozen=True)
class Paragraph:
    children: tuple[Inline, ...]


@dataclass(frozen=True)
class Heading:
    level: int  # 2 or 3: level 1 is the passage title
    children: tuple[Inline, ...]


@dataclass(frozen=True)
class ListBlock:
    ordered: bool
    start: int
    items: tuple[tuple[Block, ...], ...]


@dataclass(frozen=True)
class BlockQuote:
    children: tuple[Block, ...]


Block = Paragraph | Heading | ListBlock | BlockQuote

# ---- publication --------------------------------------------------------------------

FINAL, DRAFT = "final", "draft"  # a publication's status: a draft is built and previewed, never published
SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")  # ids and tags: safe in file names and URLs


@dataclass(frozen=True)
class Theme:
    """Look of the documents; every field has a default that looks good."""

    font: str = "DejaVu Sans"  # body and heading family; must cover Latin, Greek, Cyrillic
    primary_color: str = "#1F3A5F"  # headings, rules, title
    accent_color: str = "#B22222"  # classification banner
    page_size: str = "A4"  # A4 or Letter
    logo: Path | None = None  # PNG or JPEG shown on covers
    reference_docx: Path | None = None  # Word styles to build on, like pandoc --reference-doc


@dataclass(frozen=True)
class Passage:
    id: str
    title: str
    summary: str
    tags: tuple[str, ...]
    blocks: tuple[Block, ...]
    file: Path
    body_line: int  # 1-based line of the first body line in ``file``
    provisional_title: bool = False


@dataclass(frozen=True)
class Publication:
    id: str
    title: str
    subtitle: str
    language: str
    organisation: str
    authors: tuple[str, ...]
    edition: dt.date
    classification: str
    description: str
    passages: tuple[Passage, ...]
    source_dir: Path
    content_hash: str  # sha256 over every byte that affects output
    theme: Theme = field(default_factory=Theme)
    schedule: str = ""  # cron expression for scheduled regeneration, "" for none
    formats: tuple[str, ...] = ()  # what every edition holds; () for every format briefkit has
    status: str = FINAL  # or DRAFT
    strict: bool = False  # warnings fail the build, as --strict does
    timezone: str = ""  # IANA name the schedule is in, "" for the serve/deploy default
    tags: tuple[str, ...] = ()  # the publication's own tags (slugs): the portal lists it under each
    extra: tuple[tuple[str, object], ...] = ()  # later keys (readers), kept verbatim

    @property
    def keywords(self) -> tuple[str, ...]:
        """Every tag of every passage, first use first."""
        return tuple(dict.fromkeys(tag for p in self.passages for tag in p.tags))

    @property
    def author(self) -> str:
        return ", ".join(self.authors) or self.organisation


# ---- canonical reading --------------------------------------------------------------


def inline_text(children: tuple[Inline, ...]) -> str:
    parts: list[str] = []
    for node in children:
        match node:
            case Text(text) | Code(text):
                parts.append(text)
            case Emph(kids) | Strong(kids) | Link(_, kids):
                parts.append(inline_text(kids))
    return "".join(parts)


def block_texts(blocks: tuple[Block, ...]) -> list[str]:
    """The text of each leaf block, in reading order."""
    out: list[str] = []
    for block in blocks:
        match block:
            case Paragraph(kids) | Heading(_, kids):
                out.append(inline_text(kids))
            case ListBlock(_, _, items):
                for item in items:
                    out.extend(block_texts(item))
            case BlockQuote(kids):
                out.extend(block_texts(kids))
    return out


def plain_text(passage: Passage) -> str:
    """Title and body as plain text, one block a line."""
    return "\n".join([passage.title, *block_texts(passage.blocks)])


_SPACE = re.compile(r"\s+")


def squash(text: str) -> str:
    """Text with all white space removed, NFC: what read-back comparisons compare.

    Layout engines re-flow lines and split long words, so white space is not content;
    every other character must come back exactly.
    """
    return _SPACE.sub("", unicodedata.normalize("NFC", text))


def words(text: str) -> list[str]:
    return [w for w in _SPACE.split(text) if w]
