"""The canonical text model: one frozen tree that every exporter walks.

Inline and block nodes are deliberately few, so an exporter handles each kind with one
``match`` statement. ``plain_text`` defines the canonical reading of a passage: what
every exported document must give back when it is read.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass, field, replace
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


@dataclass(frozen=True)
class NoteRef:
    """A footnote reference; ``number`` counts footnotes through the whole publication."""

    number: int


Inline = Text | Emph | Strong | Code | Link | NoteRef

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


Cell = tuple[Inline, ...]
ALIGNS = ("", "left", "center", "right")  # "" leaves a column's alignment to the reader


@dataclass(frozen=True)
class Table:
    header: tuple[Cell, ...]
    rows: tuple[tuple[Cell, ...], ...]  # each as long as the header
    aligns: tuple[str, ...]  # one of ALIGNS per column
    caption: tuple[Inline, ...] = ()  # shown above the table


@dataclass(frozen=True)
class Figure:
    """A PNG or JPEG image of the publication, on a line of its own."""

    path: Path  # resolved, inside the publication directory
    alt: str  # "" only for a decorative image
    caption: tuple[Inline, ...]  # shown below the image as "Figure N: caption"
    number: int  # counts figures through the whole publication
    width: int  # pixels
    height: int


Block = Paragraph | Heading | ListBlock | BlockQuote | Table | Figure


@dataclass(frozen=True)
class Footnote:
    number: int
    children: tuple[Inline, ...]


# ---- publication --------------------------------------------------------------------

MONTHS = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip
SMART, PLAIN = "smart", "plain"  # a theme's typography
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
    typography: str = "smart"  # SMART: typographic quotes and dashes, as pandoc's smart; PLAIN: as typed


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
    notes: tuple[Footnote, ...] = ()  # in order of first reference; shown after the body


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

    @property
    def byline(self) -> tuple[str, ...]:
        """Who, under the title in every format: the authors on one line, then the organisation
        unless it is the only author."""
        return tuple(dict.fromkeys(line for line in (", ".join(self.authors), self.organisation) if line))

    @property
    def edition_date(self) -> str:
        """The edition date as every format prints it, e.g. "3 December 2026"."""
        # not strftime("%B"), which follows the machine's locale and would change the bytes
        return f"{self.edition.day} {MONTHS[self.edition.month - 1]} {self.edition.year}"


# ---- canonical reading --------------------------------------------------------------


def inline_text(children: tuple[Inline, ...]) -> str:
    parts: list[str] = []
    for node in children:
        match node:
            case Text(text) | Code(text):
                parts.append(text)
            case Emph(kids) | Strong(kids) | Link(_, kids):
                parts.append(inline_text(kids))
            case NoteRef(number):
                parts.append(str(number))
    return "".join(parts)


# The word before a figure's number, by base language; English for any other.
FIGURE_WORDS = {
    "en": "Figure", "fr": "Figure", "de": "Abbildung", "es": "Figura", "it": "Figura", "nl": "Figuur",
    "pt": "Figura", "sv": "Figur", "da": "Figur", "nb": "Figur", "nn": "Figur", "no": "Figur", "fi": "Kuva",
    "pl": "Rysunek", "cs": "Obrázek",
}  # fmt: skip
_SPACE_BEFORE_COLON = frozenset({"fr"})  # French sets a no-break space before a colon


def base_language(language: str) -> str:
    """The language of a BCP 47 tag without its region or script: "fr" for "fr-CA"."""
    return language.split("-")[0].lower()


def figure_prefix(figure: Figure, language: str = "en") -> str:
    """What precedes a figure's caption in ``language``: "Figure 2: ", "Abbildung 2: ", in French
    "Figure 2\u00a0: "; just "Figure 2" for a figure without a caption."""
    base = base_language(language)
    label = f"{FIGURE_WORDS.get(base, FIGURE_WORDS['en'])} {figure.number}"
    if not figure.caption:
        return label
    return label + ("\u00a0: " if base in _SPACE_BEFORE_COLON else ": ")


def figure_label(figure: Figure, language: str = "en") -> str:
    """The caption line under a figure, e.g. "Figure 2: Monthly aid"."""
    return figure_prefix(figure, language) + inline_text(figure.caption)


def block_texts(blocks: tuple[Block, ...], language: str = "en") -> list[str]:
    """The text of each leaf block, in reading order: a table's caption, header cells, then
    its rows' cells; a figure's alt text, then its caption line (in ``language``)."""
    out: list[str] = []
    for block in blocks:
        match block:
            case Paragraph(kids) | Heading(_, kids):
                out.append(inline_text(kids))
            case ListBlock(_, _, items):
                for item in items:
                    out.extend(block_texts(item, language))
            case BlockQuote(kids):
                out.extend(block_texts(kids, language))
            case Table(header, rows, _, caption):
                out.extend([inline_text(caption)] if caption else [])
                out.extend(inline_text(cell) for row in (header, *rows) for cell in row)
            case Figure() as figure:
                label = figure_label(figure, language)
                out.extend([figure.alt, label] if figure.alt else [label])
    return out


def note_texts(notes: tuple[Footnote, ...]) -> list[str]:
    """Each footnote as read: its number, then its text."""
    return [f"{note.number} {inline_text(note.children)}" for note in notes]


def body_texts(passage: Passage, language: str = "en") -> list[str]:
    """The canonical reading of a passage body in a publication in ``language``: its blocks, then its footnotes."""
    return [*block_texts(passage.blocks, language), *note_texts(passage.notes)]


def plain_text(passage: Passage, language: str = "en") -> str:
    """Title and body as plain text, one block a line."""
    return "\n".join([passage.title, *body_texts(passage, language)])


_SPACE = re.compile(r"\s+")


def squash(text: str) -> str:
    """Text with all white space removed, NFC: what read-back comparisons compare.

    Layout engines re-flow lines and split long words, so white space is not content;
    every other character must come back exactly.
    """
    return _SPACE.sub("", unicodedata.normalize("NFC", text))


def words(text: str) -> list[str]:
    return [w for w in _SPACE.split(text) if w]


# ---- numbering through a publication --------------------------------------------------


def numbered(passages: tuple[Passage, ...]) -> tuple[Passage, ...]:
    """``passages`` (each numbering its footnotes and figures from 1) numbered on through the
    publication, in reading order."""
    out: list[Passage] = []
    notes = shown = 0
    for passage in passages:
        shifted = _Shift(notes, shown)
        out.append(
            replace(
                passage,
                blocks=shifted.blocks(passage.blocks),
                notes=tuple(Footnote(n.number + notes, shifted.inlines(n.children)) for n in passage.notes),
            )
        )
        notes += len(passage.notes)
        shown += len(figures(passage.blocks))
    return tuple(out)


def figures(blocks: tuple[Block, ...]) -> list[Figure]:
    """Every figure in ``blocks``, in reading order."""
    found: list[Figure] = []
    for block in blocks:
        match block:
            case Figure():
                found.append(block)
            case ListBlock(_, _, items):
                for item in items:
                    found += figures(item)
            case BlockQuote(kids):
                found += figures(kids)
    return found


def outline(blocks: tuple[Block, ...]) -> tuple[Block, ...]:
    """``blocks`` with no heading more than one level below the one before it (the passage
    title is level 1), so assistive technology's heading outline skips no level."""
    level = 1

    def walk(blocks: tuple[Block, ...]) -> tuple[Block, ...]:
        nonlocal level
        out: list[Block] = []
        for block in blocks:
            match block:
                case Heading(wanted, kids):
                    level = min(wanted, level + 1)
                    out.append(Heading(level, kids))
                case ListBlock(ordered, start, items):
                    out.append(ListBlock(ordered, start, tuple(walk(item) for item in items)))
                case BlockQuote(kids):
                    out.append(BlockQuote(walk(kids)))
                case _:
                    out.append(block)
        return tuple(out)

    return walk(blocks)


@dataclass(frozen=True)
class _Shift:
    notes: int
    figures: int

    def inlines(self, children: tuple[Inline, ...]) -> tuple[Inline, ...]:
        out: list[Inline] = []
        for node in children:
            match node:
                case NoteRef(number):
                    out.append(NoteRef(number + self.notes))
                case Emph(kids) | Strong(kids):
                    out.append(type(node)(self.inlines(kids)))
                case Link(href, kids):
                    out.append(Link(href, self.inlines(kids)))
                case _:
                    out.append(node)
        return tuple(out)

    def blocks(self, blocks: tuple[Block, ...]) -> tuple[Block, ...]:
        out: list[Block] = []
        for block in blocks:
            match block:
                case Paragraph(kids):
                    out.append(Paragraph(self.inlines(kids)))
                case Heading(level, kids):
                    out.append(Heading(level, self.inlines(kids)))
                case ListBlock(ordered, start, items):
                    out.append(ListBlock(ordered, start, tuple(self.blocks(item) for item in items)))
                case BlockQuote(kids):
                    out.append(BlockQuote(self.blocks(kids)))
                case Table(header, rows, aligns, caption):
                    cells = [tuple(self.inlines(c) for c in row) for row in (header, *rows)]
                    out.append(Table(cells[0], tuple(cells[1:]), aligns, self.inlines(caption)))
                case Figure():
                    out.append(replace(block, number=block.number + self.figures, caption=self.inlines(block.caption)))
        return tuple(out)
