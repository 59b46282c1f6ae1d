"""The passages as flowables: paragraphs, headings kept with their text, lists, quotes, anchors."""

from __future__ import annotations

import itertools

from reportlab.lib import colors
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import CondPageBreak, Flowable, HRFlowable, ListFlowable, ListItem
from reportlab.platypus.flowables import DDIndenter, LIIndenter

from briefkit.model import Block, BlockQuote, Figure, Footnote, Heading, ListBlock, Passage, Table, outline
from briefkit.model import Paragraph as Para
from exporters.pdf.figures import figure_flowables
from exporters.pdf.hyphens import HyphenatedParagraph
from exporters.pdf.paragraphs import Paragraph
from exporters.pdf.styles import Styles, markup, note_number, plain
from exporters.pdf.tables import table_flowables
from exporters.pdf.tagging import Element

_BULLETS = ("\u2022", "\u2013", "\u25e6")


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


class _Label:
    """An item's label (bullet or number), drawn as content of the item's Lbl element."""

    def __init__(self, drawer: object, tag: Element) -> None:
        self._drawer, self.tag = drawer, tag

    def __getattr__(self, name: str) -> object:
        return getattr(self._drawer, name)

    def drawOn(self, indenter: Flowable, canv: Canvas, x: float, y: float, _sW: float = 0) -> None:
        with canv.tagger.marked(canv, self.tag):
            self._drawer.drawOn(indenter, canv, x, y, _sW)


class _List(ListFlowable):
    """A ListFlowable whose labels are tagged: reportlab makes one per item, in order, once."""

    def __init__(self, entries: list[ListItem], labels: list[Element], **kw: object) -> None:
        super().__init__(entries, **kw)
        self._labels = iter(labels)

    def _makeBullet(self, value: object, params: dict | None = None) -> _Label:
        return _Label(super()._makeBullet(value, params), next(self._labels))

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


def flowables(
    blocks: tuple[Block, ...], styles: Styles, parent: Element, quoted: bool = False, depth: int = 0
) -> list[Flowable]:
    """The flowables of ``blocks``, their structure elements added to ``parent`` in reading order."""
    out: list[Flowable] = []
    for block in blocks:
        match block:
            case Para(kids):
                style = styles.quote if quoted else styles.body
                out.append(HyphenatedParagraph(markup(kids, styles), style, parent.add("P")))
            case Heading(level, kids):
                # headings in a list item or quote are not kept with what follows: the
                # room check belongs to the page, not to an indented box
                heading = Paragraph if quoted or depth > 0 else _Heading
                out.append(heading(markup(kids, styles), styles.headings[level], parent.add(f"H{level}")))
            case ListBlock(ordered, start, items):
                out.append(_list(ordered, start, items, styles, parent, quoted, depth))
            case BlockQuote(kids):
                quote = parent.add("BlockQuote")
                out.extend(_QuoteBar(f, 12, styles.primary) for f in flowables(kids, styles, quote, True, depth))
            case Table():
                out.extend(table_flowables(block, styles, parent))
            case Figure():
                out.extend(figure_flowables(block, styles, parent))
    return out


def note_flowables(notes: tuple[Footnote, ...], styles: Styles, parent: Element) -> list[Flowable]:
    """The passage's footnotes after its text, under a short rule, each the target of its references and its
    number a link back to the first of them."""
    if not notes:
        return []
    rule = HRFlowable(width="30%", thickness=0.5, color=styles.rule, hAlign="LEFT", spaceBefore=6, spaceAfter=4)
    return [rule] + [
        HyphenatedParagraph(
            f"{note_number(n.number, styles)} {markup(n.children, styles)}", styles.note, parent.add("Note")
        )
        for n in notes
    ]


def _list(
    ordered: bool,
    start: int,
    items: tuple[tuple[Block, ...], ...],
    styles: Styles,
    parent: Element,
    quoted: bool,
    depth: int,
) -> Flowable:
    """A list: L, an LI per item with its label (Lbl) and body (LBody); the L says how the labels
    number (PDF 32000-1, 14.8.5.5)."""
    element = parent.add("L", ListNumbering="Decimal" if ordered else "Disc")
    entries, labels = [], []
    for item in items:
        entry = element.add("LI")
        labels.append(entry.add("Lbl"))
        body = entry.add("LBody")
        entries.append(ListItem(flowables(item, styles, body, quoted, depth + 1) or [Paragraph("", styles.body)]))
    label = {"bulletType": "1", "start": start, "bulletFormat": "%s."} if ordered else {
        "bulletType": "bullet", "start": _BULLETS[depth % len(_BULLETS)]}  # fmt: skip
    return _List(entries, labels, leftIndent=16, bulletFontName=styles.fonts.regular, bulletFontSize=9.5,
                 bulletColor=styles.primary, bulletOffsetY=-1, spaceAfter=3, **label)  # fmt: skip


class _Heading(Paragraph):
    """A page-level heading: a _Room before it keeps it off the foot of a page."""


class _Room(CondPageBreak):
    """Starts a new page unless a run of headings and two body lines under it fit.

    This keeps a heading with its text without keep-with-next groups, which reportlab
    lays out twice (to try the group, then to place its members) and which it re-splits
    forever in some nestings.
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


class _Anchor(Flowable):
    """Zero-height mark above a heading: its outline entry (a passage at level 0, its ``##``
    sections at level 1) and destination."""

    def __init__(self, key: str, title: str, level: int) -> None:
        super().__init__()
        self.key, self.title, self.level = key, title, level

    def wrap(self, aW: float, aH: float) -> tuple[float, float]:
        return 0, 0

    def draw(self) -> None:
        self.canv.bookmarkHorizontal(self.key, 0, 0)
        self.canv.addOutlineEntry(self.title, self.key, level=self.level)

    @property
    def contents_key(self) -> str | None:
        """The key of a passage, whose page the contents give; its sections are not listed."""
        return self.key if self.level == 0 else None


def passage_flowables(index: int, passage: Passage, styles: Styles, document: Element) -> list[Flowable]:
    """A section of ``document`` for the passage; the passage's room check, its anchor, heading and body (the anchor after the check,
    so the outline points at the page the heading is on), an anchor before each ``##``."""
    section = document.add("Sect")
    title = _Heading(plain(passage.title), styles.title, section.add("H1"))
    body = [*flowables(outline(passage.blocks), styles, section), *note_flowables(passage.notes, styles, section)]
    room, *rest = keep_headings([title, *body], styles)
    out: list[Flowable] = [room, _Anchor(passage_key(index), passage.title, 0)]
    sections = (f"{passage_key(index)}-{n}" for n in itertools.count(1))
    for item in rest:
        if isinstance(item, _Heading) and item.style is styles.headings[2]:
            out.append(_Anchor(next(sections), item.getPlainText(), 1))
        out.append(item)
    return out


def passage_key(index: int) -> str:
    """The destination name of the passage at ``index``: the outline's and the summary's links."""
    return f"passage-{index}"
