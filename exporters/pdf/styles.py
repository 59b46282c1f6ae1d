"""Paragraph styles and inline markup: how the model's text becomes reportlab Paragraph markup."""

from __future__ import annotations

from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_LEFT, TA_RIGHT
from reportlab.lib.styles import ParagraphStyle

from briefkit.model import Code, Emph, Inline, Link, NoteRef, Strong, Text
from exporters.pdf.fixes import with_stand_ins
from exporters.pdf.fonts import Fonts
from exporters.pdf.hyphens import hyphenator

TITLE_SIZE = 15.0  # passage headings
CELL_SIZE = 9.0
GREY = colors.HexColor("#555555")
INK = colors.HexColor("#1A1A1A")
RULE = colors.HexColor("#999999")
URI_WASTE = 0.3  # the share of a line a URL may leave empty before it is broken at a separator
_ALIGNMENTS = {"": TA_LEFT, "left": TA_LEFT, "center": TA_CENTER, "right": TA_RIGHT}


class Styles:
    """Every paragraph style of the handout, made once per export."""

    def __init__(self, fonts: Fonts, primary: colors.Color, accent: colors.Color, language: str, width: float) -> None:
        self.fonts, self.primary, self.accent = fonts, primary, accent
        self.width = width  # of the text, which tables share out among their columns
        self.language = language  # the publication's: the words the handout adds, such as "Figure", follow it
        # text (body, notes, table cells) is hyphenated in the publication's language, and broken after a
        # hyphen of its own; headings, titles and captions are not
        hyphenate = {"hyphenationLang": hyphenator(language) or "", "embeddedHyphenation": 1}
        self._hyphenate = hyphenate
        self.body = self.para("body", 10, 14, spaceAfter=5, **hyphenate)
        self.quote = self.para("quote", 10, 14, spaceAfter=5, textColor=GREY, **hyphenate)
        self.title = self.para("passage", TITLE_SIZE, 19, fontName=fonts.bold, textColor=primary,
                               spaceBefore=16, spaceAfter=6)  # fmt: skip
        self.headings = {
            2: self.para("h2", 12.5, 16, fontName=fonts.bold, textColor=primary, spaceBefore=8, spaceAfter=3),
            3: self.para("h3", 11, 14.5, fontName=fonts.bold, textColor=INK, spaceBefore=7, spaceAfter=2),
        }  # fmt: skip
        # colours in markup as CSS rgb(): reportlab reads "#RRGGBB" only after failing to read it as Python, for each link
        self.link_color = "rgb({},{},{})".format(*bytes.fromhex(primary.hexval()[2:]))
        self.code_font = f'<font name="{fonts.mono}" color="rgb(122,46,14)">'  # opens inline code: #7A2E0E
        self.table = [("FONTNAME", (0, 0), (-1, -1), fonts.regular)]  # tables default to Helvetica
        self.rule = RULE
        self.caption = self.para("caption", 9, 12, spaceBefore=4, spaceAfter=6, textColor=primary,
                                 fontName=fonts.italic)  # fmt: skip
        self.figure_caption = self.para("figure caption", 9, 12, spaceBefore=3, spaceAfter=8, textColor=primary,
                                        fontName=fonts.italic, alignment=TA_CENTER)  # fmt: skip
        self.note = self.para("note", 8.5, 11, spaceAfter=2, **hyphenate)
        self._cells: dict[tuple[str, bool], ParagraphStyle] = {}
        self.referenced: set[int] = set()  # notes whose first reference markup has made: it holds their ref_anchor

    def cell(self, align: str, header: bool) -> ParagraphStyle:
        """The style of a table cell: header cells bold on the primary colour."""
        key = (align, header)
        if key not in self._cells:
            look = {"fontName": self.fonts.bold, "textColor": colors.white} if header else {}
            self._cells[key] = self.para(
                f"cell {align} {header}", CELL_SIZE, 11.5, alignment=_ALIGNMENTS[align], **look, **self._hyphenate
            )
        return self._cells[key]

    def para(self, name: str, size: float, leading: float, **kw: object) -> ParagraphStyle:
        # no space shrinkage: text is ragged right, so a line never needs to squeeze past the margin;
        # no line of a paragraph alone at the foot or head of a page; a URL breaks after a '/' (or
        # another of its separators) rather than anywhere, once a third of the line would be left empty
        kw = {"fontName": self.fonts.regular, "textColor": INK, **kw}
        return ParagraphStyle(name, fontSize=size, leading=leading, splitLongWords=1, spaceShrinkage=0,
                              allowWidows=0, allowOrphans=0, uriWasteReduce=URI_WASTE, **kw)  # fmt: skip


def markup(children: tuple[Inline, ...], styles: Styles) -> str:
    """reportlab Paragraph markup; every text is escaped before tags are added around it."""
    parts: list[str] = []
    for node in children:
        match node:
            case Text(value):
                parts.append(plain(value))
            case Code(value):
                parts.append(f"{styles.code_font}{plain(value)}</font>")
            case Emph(kids):
                parts.append(f"<i>{markup(kids, styles)}</i>")
            case Strong(kids):
                parts.append(f"<b>{markup(kids, styles)}</b>")
            case Link(href, kids):
                parts.append(
                    f'<a href="{escape(href, _QUOTE)}" color="{styles.link_color}"><u>{markup(kids, styles)}</u></a>'
                )
            case NoteRef(number):
                parts.append(_note_ref(number, styles))
    return "".join(parts)


def _note_ref(number: int, styles: Styles) -> str:
    """A reference linking to its note; the first one made (the first in reading order) is where the note links back to."""
    anchor = "" if number in styles.referenced else f'<a name="{ref_anchor(number)}"/>'
    styles.referenced.add(number)
    return f'{anchor}<super><a href="#{note_anchor(number)}" color="{styles.link_color}">{number}</a></super>'


def note_anchor(number: int) -> str:
    return f"note-{number}"


def ref_anchor(number: int) -> str:
    """The destination of a note's first reference: the note's number links back to it."""
    return f"ref-{number}"


def note_number(number: int, styles: Styles) -> str:
    """A note's number at the foot, as markup: the note's destination, linking back to its first reference."""
    if number not in styles.referenced:  # no reference was made: nothing to link back to
        return f'<a name="{note_anchor(number)}"/>{number}'
    return f'<a name="{note_anchor(number)}"/><a href="#{ref_anchor(number)}" color="{styles.link_color}">{number}</a>'


def plain(value: str) -> str:
    """Plain text as Paragraph markup: escaped, special characters swapped for stand-ins."""
    return with_stand_ins(escape(value))


_QUOTE = {'"': "&quot;"}
