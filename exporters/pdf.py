"""The PDF handout: a compact, printable summary of a publication, laid out by reportlab.

One layout pass: "Page X of Y" draws Y from a form XObject filled in after the last
page. Running header, footer and list labels are marked as artifacts (PDF 32000-1,
14.8.2.2), so read_back can tell them from content; each passage has an outline entry
whose destination is the top of its heading, which is how read_back finds passages.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import re
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar
from xml.sax.saxutils import escape

from pypdf import PdfReader
from pypdf.generic import IndirectObject
from reportlab import rl_config
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, LETTER
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase import pdfmetrics, ttfonts
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas as rl_canvas
from reportlab.pdfgen import textobject as rl_textobject
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    BaseDocTemplate,
    CondPageBreak,
    Flowable,
    Frame,
    Image,
    ListFlowable,
    ListItem,
    PageTemplate,
    Spacer,
    Table,
    TableStyle,
)
from reportlab.platypus import Paragraph as RLParagraph
from reportlab.platypus import paragraph as rl_paragraph
from reportlab.platypus.flowables import DDIndenter, LIIndenter
from reportlab.platypus.paragraph import cleanBlockQuotedText
from reportlab.platypus.paraparser import ParaFrag, ParaParser

from briefkit.fonts import FontFamily, find_family
from briefkit.model import (
    Block,
    BlockQuote,
    Code,
    Emph,
    Heading,
    Inline,
    Link,
    ListBlock,
    Passage,
    Publication,
    Strong,
    Text,
    block_texts,
)
from briefkit.model import Paragraph as Para
from exporters.packaging import atomic_path
from exporters.registry import Exporter, ReadBack

PAGE_SIZES = {"A4": A4, "Letter": LETTER}
MARGIN_X, MARGIN_TOP, MARGIN_BOTTOM = 20 * mm, 22 * mm, 22 * mm
MONO_FAMILY = "DejaVu Sans Mono"
TITLE_SIZE = 15.0  # passage headings; read_back takes the leading text of this size as the title
TOTAL_FORM = "briefkit-page-total"
GREY = colors.HexColor("#555555")
INK = colors.HexColor("#1A1A1A")


# ---- fonts --------------------------------------------------------------------------


# reportlab's Paragraph drops a soft hyphen (or prints "-" where it breaks) and treats a
# zero-width space as white space to strip. They go through layout as stand-ins that
# validation never lets into a text (non-characters), draw nothing, and map back to the
# real character in the ToUnicode table, so the page looks right and the text is exact.
STAND_INS = {0x00AD: 0xFDD0, 0x200B: 0xFDD1}
_TO_STAND_IN = str.maketrans(STAND_INS)
_FROM_STAND_IN = {v: k for k, v in STAND_INS.items()}


def _to_unicode_cmap(fontname: str, subset: list[int]) -> str:
    """reportlab's ToUnicode CMap with UTF-16BE targets.

    reportlab 5.1 writes ``<%04X>``, an odd-length hex string for characters beyond
    U+FFFF, which PDF readers reject; UTF-16BE (surrogate pairs) is what the spec asks.
    For the Basic Multilingual Plane the output is byte for byte the same.
    """
    lines = [
        "/CIDInit /ProcSet findresource begin", "12 dict begin", "begincmap",
        f"/CIDSystemInfo\n<< /Registry ({fontname})\n/Ordering ({fontname})\n/Supplement 0\n>> def",
        f"/CMapName /{fontname} def", "/CMapType 2 def",
        "1 begincodespacerange", f"<00> <{len(subset) - 1:02X}>", "endcodespacerange",
        f"{len(subset)} beginbfchar",
        *(f"<{i:02X}> <{_utf16(_FROM_STAND_IN.get(v, v))}>" for i, v in enumerate(subset)),
        "endbfchar", "endcmap", "CMapName currentdict /CMap defineresource pop", "end", "end",
    ]  # fmt: skip
    return "\n".join(lines)


def _utf16(code: int) -> str:
    return chr(code).encode("utf-16-be", "surrogatepass").hex().upper()


ttfonts.makeToUnicodeCMap = _to_unicode_cmap
# Streams deflated only, not also ASCII85-encoded, which is for 7-bit channels: the
# 1,000-passage handout is 13% smaller (1.08 MB instead of 1.25 MB).
rl_config.useA85 = 0


T = TypeVar("T")


def remembered(function: Callable[..., T]) -> Callable[..., T]:
    """``function``, a pure one of its arguments, remembering its answers.

    Drawing formats every position, size and colour of every line (reportlab's ``fp_str``),
    in pure Python, over and over for the same few numbers: a tenth of a long handout's
    export. Equal numbers format alike whatever their type (1, 1.0, True; 0.0, -0.0), so
    one answer serves them all.
    """
    known = functools.lru_cache(maxsize=1 << 16)(function)

    def answer(*args: object) -> T:
        try:
            return known(*args)
        except TypeError:  # a list, which cannot be a key
            return function(*args)

    return answer


rl_textobject.fp_str = rl_canvas.fp_str = remembered(rl_textobject.fp_str)
# Line breaking looks up a font's ascent and descent for every fragment of every line: 4%
# of the export. They change only when a font is registered, which empties this (_register).
font_metrics = functools.lru_cache(maxsize=1 << 12)(rl_paragraph.getAscentDescent)
rl_paragraph.getAscentDescent = font_metrics


class _TTFont(TTFont):
    """A TrueType font that remembers string widths.

    Line breaking measures every word of every paragraph, and drawing measures every
    fragment again; reportlab does it in pure Python, character by character, while a
    text uses a small vocabulary. The cache is emptied whenever widths change
    (_prepare_faces), so a remembered width is always the one reportlab would compute.
    """

    def __init__(self, name: str, path: str) -> None:
        super().__init__(name, path)
        self.widths: dict[tuple[str, float], float] = {}

    def stringWidth(self, text: str, size: float, encoding: str = "utf8") -> float:
        key = (text, size)
        width = self.widths.get(key)
        if width is None:
            width = self.widths[key] = super().stringWidth(text, size, encoding)
        return width


@dataclass(frozen=True)
class Fonts:
    """Registered reportlab font names: the theme family and a monospace family."""

    regular: str
    bold: str
    italic: str
    bold_italic: str
    mono: str
    faces: tuple[str, ...]  # every registered face, monospace ones included


@functools.cache
def _register(family: FontFamily) -> tuple[str, str, str, str]:
    """Register the four faces of ``family`` once per process (parsing a TTF is costly)."""
    base = f"bk-{family.name.replace(' ', '')}"
    names = (base, f"{base}-Bold", f"{base}-Italic", f"{base}-BoldItalic")
    for name, path in zip(names, family.faces):
        pdfmetrics.registerFont(_TTFont(name, str(path)))
    font_metrics.cache_clear()
    pdfmetrics.registerFontFamily(base, normal=names[0], bold=names[1], italic=names[2], boldItalic=names[3])
    return names


def fonts_for(font: str) -> Fonts:
    family = find_family(font)
    if family is None:
        raise ValueError(f"font family '{font}' is not installed with regular, bold, italic and bold italic faces")
    names = _register(family)
    mono_family = find_family(MONO_FAMILY)
    mono = _register(mono_family) if mono_family is not None else names
    return Fonts(*names, mono=mono[0], faces=tuple(dict.fromkeys(names + mono)))


def _prepare_faces(fonts: Fonts, chars: set[str]) -> None:
    """Give characters the fonts lack a code of their own that draws the .notdef glyph.

    reportlab otherwise draws them all as code 0, whose ToUnicode entry is U+0000, so
    the text is lost for search, copy and read-back. Mapped this way the page shows the
    same box (validation warns about it, BK207) and the text layer keeps the character.
    Stand-ins draw the (empty) space glyph with no width.
    """
    codes = {ord(c) for c in chars}
    for name in fonts.faces:
        font = pdfmetrics.getFont(name)
        font.widths.clear()  # bounds the cache to one export's vocabulary, too
        face = font.face
        for code in codes.difference(face.charToGlyph):
            face.charToGlyph[code] = 0
            face.charWidths[code] = face.defaultWidth
        for code in STAND_INS.values():
            face.charToGlyph[code] = face.charToGlyph.get(0x20, 0)
            face.charWidths[code] = 0


# ---- paragraphs -------------------------------------------------------------------


class Paragraph(RLParagraph):
    """A reportlab Paragraph that breaks its lines once per width.

    reportlab wraps a flowable again whenever it measures or places it: a list wraps its
    items, then again while drawing them; a table wraps its cells again at each page it
    splits across; _Room measures headings before the frame places them. Line breaking
    depends on the width alone, so the lines of the last wrap are reused while the width
    and the lines are the same; split() replaces or drops them, forcing a fresh wrap.
    """

    _memo: tuple[float, object, float, float] | None = None
    # the lines a split left over, and the width they were broken at (see split)
    _carried: tuple[float, object] | None = None

    def wrap(self, availWidth: float, availHeight: float) -> tuple[float, float]:
        memo = self._memo
        if memo is not None and memo[0] == availWidth and memo[1] is self.__dict__.get("blPara"):
            self.width, self.height = memo[2], memo[3]
            return memo[2], memo[3]
        width, height = super().wrap(availWidth, availHeight)
        self._memo = (availWidth, self.__dict__.get("blPara"), width, height)
        return width, height

    def split(self, availWidth: float, availHeight: float) -> list[Flowable]:
        """reportlab's split, whose second part keeps the lines already broken for it.

        reportlab makes the rest of a split paragraph afresh, and breaking its lines again
        costs time in proportion to what is left: a paragraph over many pages cost time in
        the square of its length (35 s for one of 120,000 words). Greedy line breaking
        from the start of a line gives the lines it gave before, so the rest takes them
        when it is broken at the same width, renumbered where they index the paragraph's
        words (sFW), unless a word was split for being wider than a line or hyphenated:
        reportlab breaks the pieces of those differently the second time. A property test
        checks the handout against reportlab's own split, byte for byte.
        """
        parts = super().split(availWidth, availHeight)
        bl_para = self.__dict__.get("blPara")
        unsplit = not (self.__dict__.get("_splitLongWordCount") or self.__dict__.get("_hyphenations"))
        if len(parts) == 2 and bl_para is not None and unsplit and self.style.wordWrap != "CJK":
            first, rest = parts
            lines = bl_para.lines[len(first.blPara.lines) :]
            if rl_paragraph._processed_frags(self.frags):
                lines = [line.clone(sFW=line.sFW - lines[0].sFW) for line in lines]
            width = availWidth - self.style.leftIndent - self.style.rightIndent  # every line's but the first
            rest._carried = (width, bl_para.clone(lines=lines))
        return parts

    def breakLines(self, width: list[float]) -> object:
        carried, self._carried = self._carried, None
        if carried is not None and width == [carried[0], carried[0]]:
            return carried[1]
        return super().breakLines(width)


# ---- styles -------------------------------------------------------------------------


class Styles:
    """Every paragraph style of the handout, made once per export."""

    def __init__(self, fonts: Fonts, primary: colors.Color, accent: colors.Color) -> None:
        self.fonts, self.primary, self.accent = fonts, primary, accent
        self.body = self.para("body", 10, 14, spaceAfter=5)
        self.quote = self.para("quote", 10, 14, spaceAfter=5, textColor=GREY)
        self.title = self.para("passage", TITLE_SIZE, 19, fontName=fonts.bold, textColor=primary,
                               spaceBefore=16, spaceAfter=6)  # fmt: skip
        self.headings = {
            2: self.para("h2", 12.5, 16, fontName=fonts.bold, textColor=primary, spaceBefore=8, spaceAfter=3),
            3: self.para("h3", 11, 14.5, fontName=fonts.bold, textColor=INK, spaceBefore=7, spaceAfter=2),
        }  # fmt: skip
        self.link_color = "#" + primary.hexval()[2:]
        self.code_font = f'<font name="{fonts.mono}" color="#7A2E0E">'  # opens inline code
        self.table = [("FONTNAME", (0, 0), (-1, -1), fonts.regular)]  # tables default to Helvetica
        self.fragments = Fragments(self)

    def para(self, name: str, size: float, leading: float, **kw: object) -> ParagraphStyle:
        # no space shrinkage: text is ragged right, so a line never needs to squeeze past
        # the margin, and line breaking skips re-measuring the spaces of every line
        kw = {"fontName": self.fonts.regular, "textColor": INK, **kw}
        return ParagraphStyle(name, fontSize=size, leading=leading, splitLongWords=1, spaceShrinkage=0, **kw)


# ---- inline text --------------------------------------------------------------------


def markup(children: tuple[Inline, ...], styles: Styles) -> str:
    """reportlab Paragraph markup; every text is escaped before tags are added around it."""
    parts: list[str] = []
    for node in children:
        match node:
            case Text(value):
                parts.append(_text(value))
            case Code(value):
                parts.append(f"{styles.code_font}{_text(value)}</font>")
            case Emph(kids):
                parts.append(f"<i>{markup(kids, styles)}</i>")
            case Strong(kids):
                parts.append(f"<b>{markup(kids, styles)}</b>")
            case Link(href, kids):
                parts.append(
                    f'<a href="{escape(href, _QUOTE)}" color="{styles.link_color}"><u>{markup(kids, styles)}</u></a>'
                )
    return "".join(parts)


def _text(value: str) -> str:
    """Plain text as Paragraph markup: escaped, special characters swapped for stand-ins."""
    return escape(value).translate(_TO_STAND_IN)


def _links(children: tuple[Inline, ...]) -> bool:
    return any(isinstance(node, Link) or _links(getattr(node, "children", ())) for node in children)


class Fragments:
    """Paragraphs made straight from the model's inline nodes, without markup to parse.

    reportlab parses paragraph markup with an HTML parser: a seventh of a long handout's
    export. This makes the fragments that parser makes of ``markup``: one per run of text,
    and one for each '&', '<' and '>', which the markup escapes and the parser un-escapes
    one by one; white space collapsed and the ends trimmed, as reportlab's cleaner does;
    each fragment a copy of the one the parser makes once of the same tags (font, colour).
    A paragraph with a link is parsed: the parser numbers each link and underline in it.
    """

    def __init__(self, styles: Styles) -> None:
        self._styles = styles
        # (style, opening tags) -> (style, fragment); the style kept alive keeps its id unique
        self._made: dict[tuple[int, str], tuple[ParagraphStyle, ParaFrag]] = {}

    def paragraph(
        self, children: tuple[Inline, ...], style: ParagraphStyle, kind: type[Paragraph] = Paragraph, **kw: object
    ) -> Paragraph:
        if _links(children):
            return kind(markup(children, self._styles), style, **kw)
        runs: list[tuple[str, str, str]] = []  # (opening tags, closing tags, text) in markup order
        self._runs(children, "", "", runs)
        texts = [_SPACES.sub(" ", text.translate(_TO_STAND_IN)) for _, _, text in runs]
        # The cleaner trims the ends of the markup: the white space of text outside any tag.
        for i in range(len(runs)):
            if runs[i][0]:
                break
            texts[i] = texts[i].lstrip(" ")
            if texts[i]:
                break
        for i in reversed(range(len(runs))):
            if runs[i][1]:
                break
            texts[i] = texts[i].rstrip(" ")
            if texts[i]:
                break
        frags = [
            self._fragment(style, opening, closing, piece)
            for (opening, closing, _), text in zip(runs, texts)
            for piece in _ESCAPED.split(text)
            if piece
        ]
        return kind("".join(f.text for f in frags), style, frags=frags, **kw)

    def text(self, value: str, style: ParagraphStyle, **kw: object) -> Paragraph:
        return self.paragraph((Text(value),), style, **kw)

    def _runs(self, children: tuple[Inline, ...], opening: str, closing: str, runs: list[tuple[str, str, str]]) -> None:
        for previous, node in zip((None, *children), children):
            match node:
                case Text(value) if isinstance(previous, Text):
                    runs[-1] = (opening, closing, runs[-1][2] + value)  # sibling texts run on in the markup
                case Text(value):
                    runs.append((opening, closing, value))
                case Code(value):
                    runs.append((f"{opening}{self._styles.code_font}", f"</font>{closing}", value))
                case Emph(kids):
                    self._runs(kids, f"{opening}<i>", f"</i>{closing}", runs)
                case Strong(kids):
                    self._runs(kids, f"{opening}<b>", f"</b>{closing}", runs)

    def _fragment(self, style: ParagraphStyle, opening: str, closing: str, text: str) -> ParaFrag:
        made = self._made.get((id(style), opening))
        if made is None:
            _, parsed, _ = ParaParser().parse(cleanBlockQuotedText(f"{opening}x{closing}"), style)
            made = self._made[(id(style), opening)] = (style, parsed[0])
        fragment = ParaFrag.__new__(ParaFrag)  # the shallow copy copy.copy makes, without its generic path
        fragment.__dict__ = {**made[1].__dict__, "text": text}
        return fragment


# White space as reportlab's cleaner takes it: Python's, but for the no-break space (and
# the zero-width space, which never reaches it: it travels as a stand-in).
_SPACES = re.compile(r"[^\S\xa0]+")
_QUOTE = {'"': "&quot;"}
_ESCAPED = re.compile(r"([&<>])")


# ---- blocks -------------------------------------------------------------------------


class _ArtifactBullet:
    """A list label drawn as an artifact: furniture, not part of the item's text."""

    def __init__(self, drawer: object) -> None:
        self._drawer = drawer

    def __getattr__(self, name: str) -> object:
        return getattr(self._drawer, name)

    def drawOn(self, indenter: Flowable, canv: Canvas, x: float, y: float, _sW: float = 0) -> None:
        with artifact(canv):
            self._drawer.drawOn(indenter, canv, x, y, _sW)


class _Item(LIIndenter):
    """A list item that can always be split.

    reportlab's own refuses a split that would leave one line alone on the next page, so
    an item that is one line longer than a page fits on no page and the build stops
    (LayoutError). At the top of a page, where moving on cannot help, the item leaves the
    next page two lines, or three, instead. Elsewhere it splits as reportlab's does.
    """

    @staticmethod
    def adopt(indenter: LIIndenter) -> _Item:
        """``indenter``, made one of these; set directly, as an indenter passes attributes on."""
        object.__setattr__(indenter, "__class__", _Item)
        return indenter  # type: ignore[return-value]

    def split(self, aW: float, aH: float) -> list[Flowable]:
        parts = super().split(aW, aH)
        frame = getattr(self._flowable, "_frame", None)
        leading = getattr(getattr(self._flowable, "style", None), "leading", 0)
        for fewer in (1, 2):
            if parts or not (frame is not None and frame._atTop and leading):
                break
            parts = super().split(aW, aH - fewer * leading)
        return [_Item.adopt(part) for part in parts]  # so the rest splits the same way


class _List(ListFlowable):
    def _makeBullet(self, value: object, params: dict | None = None) -> _ArtifactBullet:
        return _ArtifactBullet(super()._makeBullet(value, params))

    def _makeLIIndenter(self, flowable: Flowable, bullet: object, params: dict | None = None) -> _Item:
        return _Item.adopt(super()._makeLIIndenter(flowable, bullet, params))


class _QuoteBar(DDIndenter):
    """Indents a block-quote child and draws a rule down its left side."""

    _IndenterAttrs = [*DDIndenter._IndenterAttrs, "_color"]

    def __init__(self, flowable: Flowable, indent: float, color: colors.Color) -> None:
        super().__init__(flowable, leftIndent=indent)
        self._color = color

    def split(self, aW: float, aH: float) -> list[Flowable]:
        return [_QuoteBar(s, self._leftIndent, self._color) for s in self._flowable.split(aW - self._leftIndent, aH)]

    def drawOn(self, canv: Canvas, x: float, y: float, _sW: float = 0) -> None:
        canv.saveState()
        canv.setStrokeColor(self._color)
        canv.setLineWidth(2)
        canv.line(x + 3, y, x + 3, y + self.height)
        canv.restoreState()
        super().drawOn(canv, x, y, _sW)


_BULLETS = ("\u2022", "\u2013", "\u25e6")


def flowables(blocks: tuple[Block, ...], styles: Styles, quoted: bool = False, depth: int = 0) -> list[Flowable]:
    out: list[Flowable] = []
    for block in blocks:
        match block:
            case Para(kids):
                out.append(styles.fragments.paragraph(kids, styles.quote if quoted else styles.body))
            case Heading(level, kids):
                # headings in a list item or quote are not kept with what follows: the
                # room check belongs to the page, not to an indented box
                heading = Paragraph if quoted or depth > 0 else _Heading
                out.append(styles.fragments.paragraph(kids, styles.headings[level], heading))
            case ListBlock(ordered, start, items):
                out.append(_list(ordered, start, items, styles, quoted, depth))
            case BlockQuote(kids):
                out.extend(_QuoteBar(f, 12, styles.primary) for f in flowables(kids, styles, True, depth))
    return out


def _list(
    ordered: bool, start: int, items: tuple[tuple[Block, ...], ...], styles: Styles, quoted: bool, depth: int
) -> Flowable:
    entries = [
        ListItem(flowables(item, styles, quoted, depth + 1) or [styles.fragments.paragraph((), styles.body)])
        for item in items
    ]
    label = {"bulletType": "1", "start": start, "bulletFormat": "%s."} if ordered else {
        "bulletType": "bullet", "start": _BULLETS[depth % len(_BULLETS)]}  # fmt: skip
    return _List(entries, leftIndent=16, bulletFontName=styles.fonts.regular, bulletFontSize=9.5,
                 bulletColor=styles.primary, bulletOffsetY=-1, spaceAfter=3, **label)  # fmt: skip


class _Heading(Paragraph):
    """A page-level heading: a _Room before it keeps it off the foot of a page."""


class _Room(CondPageBreak):
    """Starts a new page unless a run of headings and two body lines under it fit.

    This keeps a heading with its text without keep-with-next groups, which reportlab
    lays out twice (to try the group, then to place its members) and which it re-splits
    forever in some nestings. The headings' wrap here is the one the frame reuses.
    """

    def __init__(self, headings: list[_Heading], body_leading: float) -> None:
        super().__init__(0)
        self._headings, self._body_leading = headings, body_leading

    def wrap(self, availWidth: float, availHeight: float) -> tuple[float, float]:
        need = 2 * self._body_leading
        for heading in self._headings:
            need += heading.style.spaceBefore + heading.wrap(availWidth, availHeight)[1] + heading.style.spaceAfter
        # a run taller than a page starts where it is: a fresh page would not hold it either
        self.height = min(need, self._doctemplateAttr("height") or need)
        return super().wrap(availWidth, availHeight)


def keep_headings(items: list[Flowable], styles: Styles) -> list[Flowable]:
    """``items`` with a _Room before each run of consecutive page-level headings."""
    out: list[Flowable] = []
    for n, item in enumerate(items):
        if isinstance(item, _Heading) and not (n and isinstance(items[n - 1], _Heading)):
            run = list(itertools.takewhile(lambda f: isinstance(f, _Heading), items[n:]))
            out.append(_Room(run, styles.body.leading))
        out.append(item)
    return out


class _PassageAnchor(Flowable):
    """Zero-height mark above a passage heading: the outline entry and its destination."""

    def __init__(self, key: str, title: str) -> None:
        super().__init__()
        self.key, self.title = key, title

    def wrap(self, aW: float, aH: float) -> tuple[float, float]:
        return 0, 0

    def draw(self) -> None:
        self.canv.bookmarkHorizontal(self.key, 0, 0)
        self.canv.addOutlineEntry(self.title, self.key, level=0)


def passage_flowables(index: int, passage: Passage, styles: Styles) -> list[Flowable]:
    """The passage's room check, its anchor, heading and body (the anchor after the check,
    so the outline points at the page the heading is on)."""
    title = styles.fragments.text(passage.title, styles.title, kind=_Heading)
    room, *rest = keep_headings([title, *flowables(passage.blocks, styles)], styles)
    return [room, _PassageAnchor(f"passage-{index}", passage.title), *rest]


# ---- title block and key points -----------------------------------------------------


def title_block(publication: Publication, styles: Styles, width: float) -> list[Flowable]:
    out: list[Flowable] = []
    theme = publication.theme
    if theme.logo is not None:
        w, h = ImageReader(str(theme.logo)).getSize()
        height = 16 * mm
        out += [Image(str(theme.logo), width=height * w / h, height=height, hAlign="LEFT"), Spacer(1, 4 * mm)]
    if publication.organisation:
        out.append(styles.fragments.text(publication.organisation, styles.para("org", 9.5, 13, textColor=GREY)))
    out.append(styles.fragments.text(publication.title, styles.para(
        "doc-title", 24, 29, fontName=styles.fonts.bold, textColor=styles.primary, spaceBefore=2, spaceAfter=4)))  # fmt: skip
    if publication.subtitle:
        out.append(
            styles.fragments.text(publication.subtitle, styles.para("subtitle", 12.5, 16, textColor=GREY, spaceAfter=6))
        )
    out += [Spacer(1, 3 * mm), _banner(publication, styles, width), Spacer(1, 6 * mm)]
    return out


def _banner(publication: Publication, styles: Styles, width: float) -> Flowable:
    """The classification on the accent colour, then the edition date; a rule beneath."""
    edition = styles.fragments.text(
        f"Edition {publication.edition.isoformat()}", styles.para("edition", 9.5, 12, textColor=GREY)
    )
    style = [*styles.table, ("LINEBELOW", (0, 0), (-1, -1), 1.2, styles.primary), ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
             ("LEFTPADDING", (0, 0), (-1, -1), 6), ("BOTTOMPADDING", (0, 0), (-1, -1), 5)]  # fmt: skip
    if not publication.classification:
        return Table([[edition]], colWidths=[width], style=TableStyle(style))
    banner = styles.fragments.text(publication.classification, styles.para(
        "banner", 9.5, 12, fontName=styles.fonts.bold, textColor=colors.white))  # fmt: skip
    style.append(("BACKGROUND", (0, 0), (0, 0), styles.accent))
    return Table([[banner, edition]], colWidths=[width * 0.55, width * 0.45], style=TableStyle(style))


def key_points(publication: Publication, styles: Styles, width: float) -> list[Flowable]:
    summaries = [p.summary for p in publication.passages if p.summary]
    if not summaries:
        return []
    head = styles.fragments.text(
        "Key points", styles.para("kp-head", 11, 14, fontName=styles.fonts.bold, textColor=styles.primary)
    )
    item = styles.para("kp", 9.5, 13, leftIndent=11, bulletIndent=0, bulletFontName=styles.fonts.regular,
                       bulletColor=styles.primary)  # fmt: skip
    rows = [[head], *([styles.fragments.text(s, item, bulletText="\u2022")] for s in summaries)]
    tint = colors.Color(*(0.92 + 0.08 * c for c in styles.primary.rgb()))
    table = Table(rows, colWidths=[width], splitInRow=1, style=TableStyle([
        *styles.table, ("BACKGROUND", (0, 0), (-1, -1), tint), ("LINEBEFORE", (0, 0), (0, -1), 3, styles.primary),
        ("LEFTPADDING", (0, 0), (-1, -1), 10), ("RIGHTPADDING", (0, 0), (-1, -1), 10),
        ("TOPPADDING", (0, 0), (-1, -1), 2), ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
        ("TOPPADDING", (0, 0), (-1, 0), 8), ("BOTTOMPADDING", (0, -1), (-1, -1), 9),
    ]))  # fmt: skip
    return [table, Spacer(1, 4 * mm)]


# ---- page furniture -----------------------------------------------------------------


@contextlib.contextmanager
def artifact(canv: Canvas) -> Iterator[None]:
    """Mark what is drawn inside as an artifact: not content, skipped by read_back."""
    canv.addLiteral("/Artifact BMC")
    yield
    canv.addLiteral("EMC")


@dataclass
class Furniture:
    """Running header and footer; remembers the page count for "of Y"."""

    publication: Publication
    styles: Styles
    pages: int = 0

    def draw_page(self, canv: Canvas, doc: BaseDocTemplate) -> None:
        self.pages = canv.getPageNumber()
        width, height = canv._pagesize
        fonts, classification = self.styles.fonts, self.publication.classification
        with artifact(canv):
            canv.saveState()
            if classification:
                canv.setFont(fonts.bold, 8.5)
                canv.setFillColor(self.styles.accent)
                canv.drawCentredString(width / 2, height - 12 * mm, _fit(classification, fonts.bold, 8.5, width / 2))
                canv.drawCentredString(width / 2, 10 * mm, _fit(classification, fonts.bold, 8.5, width / 3))
            canv.setStrokeColor(self.styles.primary)
            canv.setLineWidth(0.6)
            canv.line(MARGIN_X, 15 * mm, width - MARGIN_X, 15 * mm)
            canv.setFont(fonts.regular, 8.5)
            canv.setFillColor(GREY)
            label = f"Page {self.pages} of "
            canv.drawString(MARGIN_X, 10 * mm, label)
            canv.saveState()
            canv.translate(MARGIN_X + pdfmetrics.stringWidth(label, fonts.regular, 8.5), 10 * mm)
            canv.doForm(TOTAL_FORM)
            canv.restoreState()
            name = _fit(self.publication.title, fonts.regular, 8.5, width / 3 - MARGIN_X)
            canv.drawRightString(width - MARGIN_X, 10 * mm, name)
            canv.restoreState()

    def draw_total(self, canv: Canvas) -> None:
        canv.beginForm(TOTAL_FORM)
        canv.setFont(self.styles.fonts.regular, 8.5)
        canv.setFillColor(GREY)
        canv.drawString(0, 0, str(self.pages))
        canv.endForm()


def _fit(text: str, font: str, size: float, width: float) -> str:
    """``text`` cut with an ellipsis to fit ``width`` on one line."""
    if pdfmetrics.stringWidth(text, font, size) <= width:
        return text
    while text and pdfmetrics.stringWidth(text + "\u2026", font, size) > width:
        text = text[: max(0, len(text) - max(1, len(text) // 8))]
    return text + "\u2026"


class _Canvas(Canvas):
    """Dates the file from the edition and fills in the page total just before saving."""

    def __init__(self, *args: object, furniture: Furniture, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self._furniture = furniture
        stamp = f"D:{furniture.publication.edition:%Y%m%d}000000+00'00'"
        self.setDateFormatter(lambda *_: stamp)

    def save(self) -> None:
        self._furniture.draw_total(self)
        super().save()


# ---- export -------------------------------------------------------------------------


def _all_text(publication: Publication) -> set[str]:
    parts = [publication.title, publication.subtitle, publication.organisation, publication.classification]
    for passage in publication.passages:
        parts += [passage.title, passage.summary, *block_texts(passage.blocks)]
    return set("".join(parts))


def export(publication: Publication, dest_dir: Path) -> Path:
    theme = publication.theme
    fonts = fonts_for(theme.font)
    _prepare_faces(fonts, _all_text(publication))
    styles = Styles(fonts, colors.HexColor(theme.primary_color), colors.HexColor(theme.accent_color))
    page_size = PAGE_SIZES[theme.page_size]
    width = page_size[0] - 2 * MARGIN_X
    furniture = Furniture(publication, styles)
    dest = dest_dir / EXPORTER.filename(publication)
    with atomic_path(dest) as tmp:
        doc = BaseDocTemplate(
            str(tmp), pagesize=page_size, leftMargin=MARGIN_X, rightMargin=MARGIN_X, topMargin=MARGIN_TOP,
            bottomMargin=MARGIN_BOTTOM, title=publication.title, author=publication.author,
            subject=publication.description or publication.subtitle, keywords=", ".join(publication.keywords),
            creator="briefkit", lang=publication.language, invariant=1, initialFontName=fonts.regular,
        )  # fmt: skip
        frame = Frame(MARGIN_X, MARGIN_BOTTOM, width, page_size[1] - MARGIN_TOP - MARGIN_BOTTOM, id="body",
                      leftPadding=0, rightPadding=0, topPadding=0, bottomPadding=0)  # fmt: skip
        doc.addPageTemplates([PageTemplate("page", [frame], onPage=furniture.draw_page)])
        story = [*title_block(publication, styles, width), *key_points(publication, styles, width)]
        for index, passage in enumerate(publication.passages):
            story += passage_flowables(index, passage, styles)
        doc.build(story, canvasmaker=functools.partial(_Canvas, furniture=furniture))
    return dest


# ---- read back ----------------------------------------------------------------------

_BFCHAR = re.compile(rb"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>")
# Content-stream tokens as reportlab writes them (it escapes every parenthesis inside a
# literal string); anything else is an error rather than something to skip.
_TOKEN = re.compile(
    rb"""(?P<str>\((?:[^()\\]|\\.)*\))|<(?P<hex>[0-9A-Fa-f\s]*)>|(?P<open>\[|<<)|(?P<close>\]|>>)
    |(?P<name>/[^\s()<>\[\]{}/%]*)|(?P<num>[+-]?(?:\d+\.?\d*|\.\d+))|(?P<op>[A-Za-z'"*]+)|%[^\r\n]*|(?P<bad>\S)""",
    re.S | re.X,
)
_ESCAPE = re.compile(rb"\\([0-7]{1,3}|\r\n|.)", re.S)
_ESCAPES = {b"n": b"\n", b"r": b"\r", b"t": b"\t", b"b": b"\b", b"f": b"\f", b"\n": b"", b"\r": b"", b"\r\n": b""}


def _unescape(match: re.Match[bytes]) -> bytes:
    code = match.group(1)
    return bytes([int(code, 8) & 0xFF]) if code[0] in b"01234567" else _ESCAPES.get(code, code)


def operations(data: bytes) -> Iterator[tuple[list[object], bytes]]:
    """(operands, operator) of a content stream: numbers as floats, names as "/Name"
    strings, strings as bytes, arrays (and dictionaries) as lists.

    A small tokenizer instead of pypdf's ContentStream, which builds a PDF object for
    every number and takes most of read_back's time on a long handout.
    """
    operands: list[object] = []
    outer: list[list[object]] = []
    for token in _TOKEN.finditer(data):
        kind, text = token.lastgroup, token.group(token.lastgroup or 0)
        if kind == "op":
            yield operands, text
            operands = []
        elif kind == "num":
            operands.append(float(text))
        elif kind == "str":
            operands.append(_ESCAPE.sub(_unescape, text[1:-1]))
        elif kind == "hex":
            digits = re.sub(rb"\s", b"", text)
            operands.append(bytes.fromhex((digits + b"0" * (len(digits) % 2)).decode()))
        elif kind == "name":
            operands.append(text.decode("latin-1"))
        elif kind == "open":
            outer.append(operands)
            operands = []
        elif kind == "close" and outer:
            inner, operands = operands, outer.pop()
            operands.append(inner)
        elif kind in ("bad", "close"):
            raise ValueError(f"unexpected {text!r} in a content stream at byte {token.start()}")


@dataclass(frozen=True)
class Run:
    """Text shown by one text operator, outside artifacts."""

    page: int
    y: float
    size: float
    text: str


def _unicode_map(font: object) -> dict[int, str]:
    """Byte code -> text from a simple font's ToUnicode CMap (bfchar entries)."""
    cmap = font.get("/ToUnicode") if hasattr(font, "get") else None
    if cmap is None:
        return {}
    data = cmap.get_object().get_data()
    out: dict[int, str] = {}
    for section in re.findall(rb"beginbfchar(.*?)endbfchar", data, re.S):
        for src, dst in _BFCHAR.findall(section):
            out[int(src, 16)] = bytes.fromhex(dst.decode()).decode("utf-16-be", "surrogatepass")
    return out


def _mult(a: list[float], b: list[float]) -> list[float]:
    return [
        a[0] * b[0] + a[1] * b[2], a[0] * b[1] + a[1] * b[3],
        a[2] * b[0] + a[3] * b[2], a[2] * b[1] + a[3] * b[3],
        a[4] * b[0] + a[5] * b[2] + b[4], a[4] * b[1] + a[5] * b[3] + b[5],
    ]  # fmt: skip


def page_runs(reader: PdfReader, number: int, maps: dict[object, dict[int, str]]) -> list[Run]:
    """The text a page shows outside artifacts, in drawing order, decoded via ToUnicode.

    pypdf's extract_text is not used for content: it reverses runs of Hebrew and Arabic
    on the assumption that they were drawn in visual order, while reportlab draws text
    in logical order. Reading the text operators in stream order keeps the real order.
    """
    page = reader.pages[number]
    fonts = page["/Resources"].get_object().get("/Font", {})
    runs: list[Run] = []
    ctm, tm, line = [1.0, 0, 0, 1, 0, 0], [1.0, 0, 0, 1, 0, 0], [1.0, 0, 0, 1, 0, 0]
    leading, size, cmap = 0.0, 0.0, {}
    stack: list[tuple[list[float], float, dict[int, str]]] = []
    marks: list[bool] = []  # one per open marked-content sequence: is it an artifact?
    for operands, op in operations(page.get_contents().get_data()):
        if op == b"q":
            stack.append((ctm, size, cmap))
        elif op == b"Q" and stack:
            ctm, size, cmap = stack.pop()
        elif op == b"cm":
            ctm = _mult([float(v) for v in operands], ctm)
        elif op in (b"BMC", b"BDC"):
            marks.append(operands[0] == "/Artifact")
        elif op == b"EMC" and marks:
            marks.pop()
        elif op == b"BT":
            tm = line = [1.0, 0, 0, 1, 0, 0]
        elif op == b"Tm":
            tm = line = [float(v) for v in operands]
        elif op in (b"Td", b"TD", b"T*"):
            tx, ty = (0.0, -leading) if op == b"T*" else (float(operands[0]), float(operands[1]))
            leading = -ty if op == b"TD" else leading
            tm = line = _mult([1, 0, 0, 1, tx, ty], line)
        elif op == b"TL":
            leading = float(operands[0])
        elif op == b"Tf":
            ref = fonts.raw_get(operands[0]) if operands[0] in fonts else None
            key = ref.idnum if isinstance(ref, IndirectObject) else operands[0]
            if key not in maps:
                maps[key] = _unicode_map(ref.get_object()) if ref is not None else {}
            cmap, size = maps[key], float(operands[1])
        elif op in (b"Tj", b"TJ", b"'", b'"') and not any(marks):
            strings = operands[0] if op == b"TJ" else operands[-1:]
            raw = b"".join(s for s in strings if isinstance(s, bytes))
            text = "".join(cmap.get(b, "\ufffd") for b in raw)
            m = _mult(tm, ctm)
            runs.append(Run(number, m[5], round(size * abs(m[3]), 2), text))
    return runs


def read_back(path: Path) -> ReadBack:
    """Passages as the PDF shows them: each outline entry starts one, at its destination.

    A passage's title is its leading text in the passage-heading size; the body is the
    rest up to the next destination. Artifacts (header, footer, list labels) are skipped.
    """
    return read_back_range(path, range(sys.maxsize))[1]


def read_back_range(path: Path, passages: range) -> tuple[int, ReadBack]:
    """How many passages the PDF has, and those of them in ``passages``, as read_back reads
    them; only the pages they are on are read."""
    reader = PdfReader(path)
    starts = [(reader.get_destination_page_number(item), -float(item.top)) for item in reader.outline]
    wanted = range(passages.start, min(passages.stop, len(starts)))
    regions: list[list[Run]] = [[] for _ in wanted]
    maps: dict[object, dict[int, str]] = {}
    current = wanted.start - 1  # the passage whose region the next run is in
    last_page = starts[wanted.stop][0] if wanted.stop < len(starts) else len(reader.pages) - 1
    for number in range(starts[wanted.start][0], last_page + 1) if wanted else ():
        for run in page_runs(reader, number, maps):
            while current + 1 < len(starts) and starts[current + 1] <= (run.page, -run.y):
                current += 1
            if current in wanted:
                regions[current - wanted.start].append(run)
    out: ReadBack = []
    for runs in regions:
        n = next((i for i, r in enumerate(runs) if r.size != runs[0].size), len(runs)) if runs else 0
        out.append((_join(runs[:n]), _join(runs[n:])))
    return len(starts), out


def _join(runs: list[Run]) -> str:
    """Runs on one baseline joined directly, lines joined by new lines."""
    parts: list[str] = []
    for prev, run in zip([None, *runs], runs):
        if prev is not None and (prev.page, prev.y) != (run.page, run.y):
            parts.append("\n")
        parts.append(run.text)
    return "".join(parts)


def check(path: Path) -> list[str]:
    """Structural checks a reader relies on: one outline entry per passage heading, fonts embedded."""
    reader = PdfReader(path)
    problems: list[str] = []
    if any(isinstance(item, list) for item in reader.outline):
        problems.append("outline has nested entries")
    for number, page in enumerate(reader.pages, 1):
        for name, font in page["/Resources"].get_object().get("/Font", {}).items():
            descriptor = font.get_object().get("/FontDescriptor")
            if descriptor is None or "/FontFile2" not in descriptor.get_object():
                problems.append(
                    f"page {number}: font {name} ({font.get_object().get('/BaseFont')}) is not embedded TrueType"
                )
    return problems


EXPORTER = Exporter(
    name="pdf",
    label="PDF handout",
    media_type="application/pdf",
    suffix="handout.pdf",
    version="2",
    export=export,
    read_back=read_back,
    check=check,
)
