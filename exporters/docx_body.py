"""WordprocessingML for the briefing pack, written as text and parsed once.

A 1,000-passage publication has some 10^5 runs; writing them as strings and handing lxml
one fragment is an order of magnitude faster than python-docx's add_paragraph/add_run per
node. Every text goes through ``run``, which escapes it, so markup characters print as
written.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from xml.sax.saxutils import escape

from docx.oxml.ns import qn
from docx.oxml.parser import parse_xml
from docx.oxml.xmlchemy import BaseOxmlElement

from briefkit.model import (
    Block,
    BlockQuote,
    Code,
    Emph,
    Figure,
    Footnote,
    Heading,
    Inline,
    Link,
    ListBlock,
    NoteRef,
    Paragraph,
    Strong,
    Table,
    Text,
    figure_prefix,
    outline,
)
from exporters.docx_styles import W_NS, StyleIds

R_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
LIST_STEP = 720  # twips of indent per list level (half an inch, as Word's own lists)
HANGING = 360  # room for the bullet or number
QUOTE_STEP = 720
BULLETS = ("•", "◦", "▪")  # cycled through the nine list levels
FIELD_END = '<w:r><w:fldChar w:fldCharType="end"/></w:r>'
NOTE_BOOKMARK = "_RefNote{}"  # around a note's first reference; later references are NOTEREF fields to it
NOTE_BOOKMARK_IDS = 1_000_000  # bookmark ids of notes start here, clear of the passages' ids
TABLE_BORDER = "999999"

_BREAKS = re.compile(r"(\t|\n)")


def parse_fragment(xml: str) -> list[BaseOxmlElement]:
    """The elements of a WordprocessingML fragment, ready to move into a part."""
    return list(parse_xml(f'<w:body xmlns:w="{W_NS}" xmlns:r="{R_NS}">{xml}</w:body>'))


@dataclass(frozen=True)
class Look:
    """A character style plus direct run formatting."""

    style: str = ""
    bold: bool = False
    italic: bool = False
    color: str = ""  # RRGGBB

    def rpr(self) -> str:
        xml = f'<w:rStyle w:val="{self.style}"/>' if self.style else ""
        xml += "<w:b/><w:bCs/>" if self.bold else ""
        xml += "<w:i/><w:iCs/>" if self.italic else ""
        xml += f'<w:color w:val="{self.color}"/>' if self.color else ""
        return f"<w:rPr>{xml}</w:rPr>" if xml else ""


def run(text: str, look: Look = Look()) -> str:
    """One run; tabs and line breaks become w:tab and w:br, as Word expects."""
    content = []
    for piece in _BREAKS.split(text):
        if piece == "\t":
            content.append("<w:tab/>")
        elif piece == "\n":
            content.append("<w:br/>")
        elif piece:
            content.append(f'<w:t xml:space="preserve">{escape(piece)}</w:t>')
    return f"<w:r>{look.rpr()}{''.join(content)}</w:r>"


def field_start(instruction: str) -> str:
    """Runs opening a complex field; its result, if any, follows, then FIELD_END."""
    return (
        '<w:r><w:fldChar w:fldCharType="begin"/></w:r>'
        f'<w:r><w:instrText xml:space="preserve"> {escape(instruction)} </w:instrText></w:r>'
        '<w:r><w:fldChar w:fldCharType="separate"/></w:r>'
    )


def bookmark(number: int, name: str, content: str) -> str:
    return f'<w:bookmarkStart w:id="{number}" w:name="{name}"/>{content}<w:bookmarkEnd w:id="{number}"/>'


def internal_link(anchor: str, content: str) -> str:
    return f'<w:hyperlink w:anchor="{anchor}" w:history="1">{content}</w:hyperlink>'


@dataclass(frozen=True)
class Props:
    """Paragraph properties: a style, and the little direct formatting the pack needs."""

    style: str = ""  # "" is Normal
    page_break: bool = False
    num: tuple[int, int] | None = None  # (numId, level) of a list marker
    indent: tuple[int, int] | None = None  # (left, hanging) in twips
    keep_next: bool = False
    align: str = ""  # "", "left", "center" or "right"

    def ppr(self) -> str:
        xml = f'<w:pStyle w:val="{self.style}"/>' if self.style else ""
        xml += "<w:keepNext/>" if self.keep_next else ""
        xml += "<w:pageBreakBefore/>" if self.page_break else ""
        if self.num:
            xml += f'<w:numPr><w:ilvl w:val="{self.num[1]}"/><w:numId w:val="{self.num[0]}"/></w:numPr>'
        if self.indent:
            xml += f'<w:ind w:left="{self.indent[0]}" w:hanging="{self.indent[1]}"/>'
        xml += f'<w:jc w:val="{self.align}"/>' if self.align else ""
        return f"<w:pPr>{xml}</w:pPr>" if xml else ""


def paragraph(props: Props, content: str) -> str:
    return f"<w:p>{props.ppr()}{content}</w:p>"


class Numbering:
    """List definitions: one bullet list for all, a fresh count for every ordered list.

    They are added to ``root`` (a numbering part's w:numbering) by ``install``, after any a
    reference document brings, with ids that do not clash with those.
    """

    def __init__(self, root: BaseOxmlElement) -> None:
        self.root = root
        first_abstract = 1 + max(map(int, root.xpath("w:abstractNum/@w:abstractNumId")), default=-1)
        self._abstract_ids = (first_abstract, first_abstract + 1)  # bullets, decimal
        self._next_num = 1 + max(map(int, root.xpath("w:num/@w:numId")), default=0)
        self._nums: list[str] = []
        self.bullets = self._add(self._abstract_ids[0], "")

    def ordered(self, level: int, start: int) -> int:
        # Word shares counters between nums of one abstractNum unless each restarts explicitly
        override = f'<w:lvlOverride w:ilvl="{level}"><w:startOverride w:val="{start}"/></w:lvlOverride>'
        return self._add(self._abstract_ids[1], override)

    def _add(self, abstract_id: int, override: str) -> int:
        num_id, self._next_num = self._next_num, self._next_num + 1
        self._nums.append(f'<w:num w:numId="{num_id}"><w:abstractNumId w:val="{abstract_id}"/>{override}</w:num>')
        return num_id

    def install(self) -> None:
        first_num = self.root.find(qn("w:num"))
        for abstract in parse_fragment(self._abstract_xml()):
            if first_num is None:  # every w:abstractNum must come before the first w:num
                self.root.append(abstract)
            else:
                first_num.addprevious(abstract)
        self.root.extend(parse_fragment("".join(self._nums)))

    def _abstract_xml(self) -> str:
        def levels(fmt: Callable[[int], tuple[str, str]]) -> str:
            return "".join(
                f'<w:lvl w:ilvl="{n}"><w:start w:val="1"/><w:numFmt w:val="{fmt(n)[0]}"/><w:lvlText w:val="{fmt(n)[1]}"/>'
                f'<w:lvlJc w:val="left"/><w:pPr><w:ind w:left="{LIST_STEP * (n + 1)}" w:hanging="{HANGING}"/></w:pPr></w:lvl>'
                for n in range(9)
            )

        bullets, decimal = self._abstract_ids
        return (
            f'<w:abstractNum w:abstractNumId="{bullets}"><w:multiLevelType w:val="hybridMultilevel"/>'
            f"{levels(lambda n: ('bullet', BULLETS[n % 3]))}</w:abstractNum>"
            f'<w:abstractNum w:abstractNumId="{decimal}"><w:multiLevelType w:val="hybridMultilevel"/>'
            f"{levels(lambda n: ('decimal', f'%{n + 1}.'))}</w:abstractNum>"
        )


@dataclass(frozen=True)
class _Marker:
    style: str
    num_id: int
    level: int


@dataclass(frozen=True)
class Frame:
    """What tables and figures are fitted to, and how a table's header row looks."""

    text_width: int  # twips between the margins
    header_fill: str  # RRGGBB behind a table's header row
    picture: Callable[[Figure], str]  # a run holding a figure's image


class BodyWriter:
    """Appends the paragraphs and tables of passage bodies to ``parts``, their footnotes to ``footnotes``."""

    def __init__(
        self, styles: StyleIds, numbering: Numbering, link_id: Callable[[str], str], frame: Frame, language: str
    ) -> None:
        self.language = language  # the publication's: the words the writer adds, such as "Figure", follow it
        self.styles = styles
        self.numbering = numbering
        self._link_id = link_id  # relationship id of an external URL
        self._frame = frame
        self.parts: list[str] = []
        self.footnotes: list[str] = []  # w:footnote elements, ids the notes' numbers
        self._referenced: set[int] = set()  # notes whose first reference is written
        self._marker: _Marker | None = None  # a list item's marker, waiting for the item's first paragraph

    def inlines(self, children: tuple[Inline, ...], look: Look = Look(), linked: bool = False) -> str:
        out: list[str] = []
        for node in children:
            match node:
                case Text(text):
                    out.append(run(text, look))
                case Code(text):
                    out.append(run(text, replace(look, style=self.styles.code)))
                case Emph(kids):
                    out.append(self.inlines(kids, replace(look, italic=True), linked))
                case Strong(kids):
                    out.append(self.inlines(kids, replace(look, bold=True), linked))
                case Link(href, kids) if not linked:
                    inner = self.inlines(kids, replace(look, style=self.styles.hyperlink), True)
                    out.append(f'<w:hyperlink r:id="{self._link_id(href)}" w:history="1">{inner}</w:hyperlink>')
                case Link(_, kids):  # Word cannot nest hyperlinks: the outer one wins
                    out.append(self.inlines(kids, look, linked))
                case NoteRef(number):
                    out.append(self._note_ref(number))
        return "".join(out)

    def _note_ref(self, number: int) -> str:
        """A real footnote reference the first time; later ones a NOTEREF field showing the same number."""
        ref_look = Look(style=self.styles.footnote_reference)
        if number not in self._referenced:
            self._referenced.add(number)
            ref = f'<w:r>{ref_look.rpr()}<w:footnoteReference w:id="{number}"/></w:r>'
            return bookmark(NOTE_BOOKMARK_IDS + number, NOTE_BOOKMARK.format(number), ref)
        return field_start(f"NOTEREF {NOTE_BOOKMARK.format(number)} \\f \\h") + run(str(number), ref_look) + FIELD_END

    def notes(self, notes: tuple[Footnote, ...]) -> None:
        for note in notes:
            mark = f"<w:r>{Look(style=self.styles.footnote_reference).rpr()}<w:footnoteRef/></w:r>{run(' ')}"
            text = paragraph(Props(self.styles.footnote_text), mark + self.inlines(note.children))
            self.footnotes.append(f'<w:footnote w:id="{note.number}">{text}</w:footnote>')

    def passage(self, blocks: tuple[Block, ...], notes: tuple[Footnote, ...]) -> None:
        """A passage's body under its Heading 1, then its footnotes."""
        self.blocks(outline(blocks))
        self.notes(notes)

    def _table(self, table: Table) -> None:
        if self.parts and self.parts[-1].endswith("</w:tbl>"):  # Word joins tables with nothing between them
            self.parts.append(paragraph(Props(self.styles.table_text), ""))
        if table.caption:
            self.parts.append(paragraph(Props(self.styles.caption, keep_next=True), self.inlines(table.caption)))
        columns = len(table.header)
        width = self._frame.text_width // columns
        line = f'w:val="single" w:sz="4" w:space="0" w:color="{TABLE_BORDER}"'
        borders = "".join(f"<w:{side} {line}/>" for side in ("top", "left", "bottom", "right", "insideH", "insideV"))
        grid = f'<w:gridCol w:w="{width}"/>' * columns
        xml = [
            '<w:tbl><w:tblPr><w:tblW w:w="5000" w:type="pct"/>'
            f'<w:tblBorders>{borders}</w:tblBorders><w:tblLayout w:type="autofit"/>'
            '<w:tblCellMar><w:left w:w="80" w:type="dxa"/><w:right w:w="80" w:type="dxa"/></w:tblCellMar>'
            '<w:tblLook w:val="0020" w:firstRow="1" w:lastRow="0" w:firstColumn="0" w:lastColumn="0" w:noHBand="1" w:noVBand="1"/>'
            f"</w:tblPr><w:tblGrid>{grid}</w:tblGrid>"
        ]
        header_look = Look(bold=True, color="FFFFFF")
        for n, row in enumerate((table.header, *table.rows)):
            # the header row repeats at the top of every page the table runs onto
            xml.append(
                "<w:tr><w:trPr><w:cantSplit/><w:tblHeader/></w:trPr>"
                if n == 0
                else "<w:tr><w:trPr><w:cantSplit/></w:trPr>"
            )
            for cell, align in zip(row, table.aligns, strict=True):
                fill = f'<w:shd w:val="clear" w:color="auto" w:fill="{self._frame.header_fill}"/>' if n == 0 else ""
                content = self.inlines(cell, header_look if n == 0 else Look())
                props = Props(self.styles.table_text, keep_next=n == 0, align=align)
                xml.append(
                    f'<w:tc><w:tcPr><w:tcW w:w="{width}" w:type="dxa"/>{fill}</w:tcPr>{paragraph(props, content)}</w:tc>'
                )
            xml.append("</w:tr>")
        xml.append("</w:tbl>")
        self.parts.append("".join(xml))

    def _figure(self, figure: Figure) -> None:
        self.parts.append(paragraph(Props(keep_next=True, align="center"), self._frame.picture(figure)))
        label = figure_prefix(figure, self.language)
        self.parts.append(
            paragraph(Props(self.styles.caption, align="center"), run(label) + self.inlines(figure.caption))
        )

    def blocks(self, blocks: tuple[Block, ...], quote: int = 0, depth: int = 0) -> None:
        """``quote`` is the block-quote depth, ``depth`` the number of enclosing list items."""
        for block in blocks:
            match block:
                case Paragraph(kids):
                    self._leaf(kids, quote, depth)
                case Heading(level, kids):
                    self._leaf(kids, quote, depth, self.styles.headings[level - 1])
                case BlockQuote(kids):
                    self.blocks(kids, quote + 1, depth)
                case ListBlock(ordered, start, items):
                    self._flush_marker(quote, depth)
                    num_id = self.numbering.ordered(depth, start) if ordered else self.numbering.bullets
                    style = self.styles.list_number if ordered else self.styles.list_bullet
                    for item in items:
                        self._marker = _Marker(style, num_id, depth)
                        self.blocks(item, quote, depth + 1)
                        self._flush_marker(quote, depth + 1)
                case Table():
                    self._flush_marker(quote, depth)
                    self._table(block)
                case Figure():
                    self._flush_marker(quote, depth)
                    self._figure(block)

    def _flush_marker(self, quote: int, depth: int) -> None:
        """An item that opens with a list (or is empty) still shows its own marker."""
        if self._marker is not None:
            self._leaf((), quote, depth)

    def _leaf(self, kids: tuple[Inline, ...], quote: int, depth: int, heading: str = "") -> None:
        marker, self._marker = self._marker, None
        if marker is not None:
            style = heading or marker.style
        else:
            style = heading or (self.styles.list_continue if depth else self.styles.quote if quote else "")
        # Styles and numbering indent the common cases; nesting, and a heading in a quote (which
        # has the heading's style, not the quote's), need explicit indents
        left = QUOTE_STEP * quote + LIST_STEP * depth
        indent = (left, HANGING if marker else 0) if depth or quote > 1 or (quote and heading) else None
        num = (marker.num_id, marker.level) if marker else None
        self.parts.append(paragraph(Props(style, num=num, indent=indent), self.inlines(kids)))
