"""What is not a passage: the title block, the contents, the executive summary, and the running header and footer."""

from __future__ import annotations

import functools
import itertools
from dataclasses import dataclass, field

from reportlab.lib import colors
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import BaseDocTemplate, Flowable, Image, Spacer, Table, TableStyle

from briefkit.model import Publication
from exporters.pdf.blocks import passage_key
from exporters.pdf.paragraphs import Paragraph
from exporters.pdf.styles import GREY, Styles, note_anchor, plain, ref_anchor
from exporters.pdf.tagging import Element, Tagged, Tagger

MARGIN_X, MARGIN_TOP, MARGIN_BOTTOM = 20 * mm, 22 * mm, 22 * mm
TOTAL_FORM = "briefkit-page-total"
FOOTER_SIZE = 8.5
SUMMARY_TITLE = "Executive summary"
CONTENTS_TITLE = "Contents"
CONTENTS_SIZE, CONTENTS_LEADING, CONTENTS_NUMBER = 9.5, 13, 15 * mm


class _Logo(Tagged, Image):
    """The organisation's logo, a Figure described by the organisation's name."""


def title_block(publication: Publication, styles: Styles, cover: Element) -> list[Flowable]:
    out: list[Flowable] = []
    theme = publication.theme
    if theme.logo is not None:
        w, h = ImageReader(str(theme.logo)).getSize()
        height = 16 * mm
        logo = _Logo(str(theme.logo), width=height * w / h, height=height, hAlign="LEFT")
        logo.tag = cover.add("Figure", alt=publication.organisation or publication.title)
        out += [logo, Spacer(1, 4 * mm)]
    out.append(Paragraph(plain(publication.title), styles.para(
        "doc-title", 24, 29, fontName=styles.fonts.bold, textColor=styles.primary, spaceBefore=2, spaceAfter=4),
        cover.add("H1")))  # fmt: skip
    if publication.subtitle:
        subtitle = styles.para("subtitle", 12.5, 16, textColor=GREY, spaceAfter=6)
        out.append(Paragraph(plain(publication.subtitle), subtitle, cover.add("P")))
    byline = styles.para("byline", 10, 13, fontName=styles.fonts.bold, textColor=GREY)
    out += [Paragraph(plain(line), byline, cover.add("P")) for line in publication.byline]
    out += [Spacer(1, 3 * mm), _banner(publication, styles, cover), Spacer(1, 6 * mm)]
    return out


def _banner(publication: Publication, styles: Styles, cover: Element) -> Flowable:
    """The classification on the accent colour, then the edition date; a rule beneath."""
    classification = cover.add("P")  # before the edition, as it reads
    edition = Paragraph(
        f"Edition {publication.edition_date}", styles.para("edition", 9.5, 12, textColor=GREY), cover.add("P")
    )
    style = [*styles.table, ("LINEBELOW", (0, 0), (-1, -1), 1.2, styles.primary), ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
             ("LEFTPADDING", (0, 0), (-1, -1), 6), ("BOTTOMPADDING", (0, 0), (-1, -1), 5)]  # fmt: skip
    if not publication.classification:
        return Table([[edition]], colWidths=[styles.width], style=TableStyle(style))
    banner = Paragraph(plain(publication.classification), styles.para(
        "banner", 9.5, 12, fontName=styles.fonts.bold, textColor=colors.white), classification)  # fmt: skip
    style.append(("BACKGROUND", (0, 0), (0, 0), styles.accent))
    return Table([[banner, edition]], colWidths=[styles.width * 0.55, styles.width * 0.45], style=TableStyle(style))


def key_points(publication: Publication, styles: Styles, document: Element) -> list[Flowable]:
    """A tinted box of each passage's title, linked to the passage, and summary. A list to a screen reader."""
    if not any(p.summary for p in publication.passages):
        return []
    part = document.add("Div")
    head = Paragraph(
        SUMMARY_TITLE,
        styles.para("kp-head", 11, 14, fontName=styles.fonts.bold, textColor=styles.primary),
        part.add("H1"),
    )
    summaries = part.add("L", ListNumbering="Disc")
    item = styles.para("kp", 9.5, 13, leftIndent=11, bulletIndent=0, bulletFontName=styles.fonts.regular,
                       bulletColor=styles.primary)  # fmt: skip
    paragraphs = [head] + [
        Paragraph(f'<a href="#{passage_key(n)}" color="{styles.link_color}"><b>{plain(p.title)}</b></a><br/>'
                  f"{plain(p.summary)}", item, summaries.add("LI").add("LBody"), bulletText="\u2022")
        for n, p in enumerate(publication.passages) if p.summary
    ]  # fmt: skip
    box = _Box(colors.Color(*(0.92 + 0.08 * c for c in styles.primary.rgb())), styles.primary)
    last = len(paragraphs) - 1
    return [
        *(
            _Row(p, Padding(10, 10, 8 if n == 0 else 2, 9 if n == last else 2), box=box)
            for n, p in enumerate(paragraphs)
        ),
        Spacer(1, 4 * mm),
    ]


def contents(publication: Publication, styles: Styles, document: Element) -> list[Flowable]:
    """Each passage's title and page number, the line one link to it. A number is a form filled in
    after the last page, as "Page X of Y" is, so the contents need no second layout."""
    part = document.add("Div")
    head = Paragraph(CONTENTS_TITLE, styles.para("contents-head", 11, 14, fontName=styles.fonts.bold,
                                                 textColor=styles.primary, spaceAfter=4), part.add("H1"))  # fmt: skip
    toc = part.add("TOC")
    line = styles.para("contents", CONTENTS_SIZE, CONTENTS_LEADING, textColor=styles.primary)
    rows: list[Flowable] = []
    for n, passage in enumerate(publication.passages):
        key = passage_key(n)
        link = toc.add("TOCI").add("Link")  # the title and page number are the link's text
        title = Paragraph(plain(passage.title), line)
        rows.append(_Row(title, Padding(0, 0, 1, 1), beside=_PageOf(key), link_to=key, tag=link))
    return [head, *rows, Spacer(1, 6 * mm)]


@dataclass(frozen=True)
class Padding:
    left: float
    right: float
    top: float
    bottom: float


@dataclass(frozen=True)
class _Box:
    """A tinted background with a rule down its left side."""

    tint: colors.Color
    rule: colors.Color
    rule_width: float = 3


class _Row(Tagged, Flowable):
    """A paragraph with padding, on a box or with a flowable beside it at the top right: what a
    one-row table would be, without a table's cost of laying out its cells again for each page
    it meets. Rows on the same box meet seamlessly; a row longer than the room left splits.
    A row can be a link to a destination, all of it: tagged, it is the content of its ``tag``."""

    def __init__(
        self,
        text: Paragraph,
        padding: Padding,
        box: _Box | None = None,
        beside: Flowable | None = None,
        link_to: str | None = None,
        tag: Element | None = None,
    ) -> None:
        super().__init__()
        self.text, self.padding, self.box, self.beside, self.link_to = text, padding, box, beside, link_to
        self.tag = tag

    def _text_width(self, available_width: float) -> float:
        side = self.beside.wrap(available_width, 0)[0] if self.beside is not None else 0
        return available_width - self.padding.left - self.padding.right - side

    def wrap(self, available_width: float, available_height: float) -> tuple[float, float]:
        pad = self.padding
        height = self.text.wrap(self._text_width(available_width), available_height - pad.top - pad.bottom)[1]
        if self.beside is not None:
            height = max(height, self.beside.height)
        self.width, self.height = available_width, height + pad.top + pad.bottom
        return self.width, self.height

    def split(self, available_width: float, available_height: float) -> list[Flowable]:
        pad = self.padding
        parts = self.text.split(self._text_width(available_width), available_height - pad.top - pad.bottom)
        return [_Row(part, pad, self.box, self.beside if n == 0 else None, self.link_to, self.tag)
                for n, part in enumerate(parts)]  # fmt: skip

    def draw(self) -> None:
        canv, pad = self.canv, self.padding
        if self.box is not None:
            canv.saveState()
            canv.setFillColor(self.box.tint)
            canv.rect(0, 0, self.width, self.height, stroke=0, fill=1)
            canv.setStrokeColor(self.box.rule)
            canv.setLineWidth(self.box.rule_width)
            canv.line(0, 0, 0, self.height)
            canv.restoreState()
        self.text.drawOn(canv, pad.left, self.height - pad.top - self.text.height)
        if self.beside is not None:
            self.beside.drawOn(
                canv, self.width - pad.right - self.beside.width, self.height - pad.top - self.beside.height
            )
        if self.link_to is not None:
            canv.linkRect("", self.link_to, (0, 0, self.width, self.height), relative=1, thickness=0)


def _page_form(key: str) -> str:
    return f"briefkit-page-of-{key}"


class _PageOf(Flowable):
    """The page passage ``key`` starts on, right-aligned."""

    def __init__(self, key: str) -> None:
        super().__init__()
        self.key = key

    def wrap(self, available_width: float, available_height: float) -> tuple[float, float]:
        self.width, self.height = CONTENTS_NUMBER, CONTENTS_LEADING
        return self.width, self.height

    def draw(self) -> None:
        self.canv.doForm(_page_form(self.key))


@dataclass
class Furniture:
    """Running header and footer; remembers the page count for "of Y"."""

    publication: Publication
    styles: Styles
    page_width: float
    pages: int = 0
    starts: dict[str, int] = field(default_factory=dict)  # each passage key's first page, for the contents
    # the header, the footer's classification and its title, each fitted once for every page
    header: str = field(init=False)
    footer: str = field(init=False)
    name: str = field(init=False)

    def __post_init__(self) -> None:
        bold, regular = self.styles.fonts.bold, self.styles.fonts.regular
        classification, width = self.publication.classification, self.page_width
        self.header = fit(classification, bold, FOOTER_SIZE, width / 2)
        self.footer = fit(classification, bold, FOOTER_SIZE, width / 3)
        self.name = fit(self.publication.title, regular, FOOTER_SIZE, width / 3 - MARGIN_X)

    def draw_page(self, canv: HandoutCanvas, doc: BaseDocTemplate) -> None:
        """Draw the running header and footer: the first of a page, and like all that is not tagged, artifacts."""
        canv.tagger.begin_page(canv)
        self.pages = canv.getPageNumber()
        width, height = canv._pagesize
        fonts = self.styles.fonts
        canv.saveState()
        if self.publication.classification:
            canv.setFont(fonts.bold, FOOTER_SIZE)
            canv.setFillColor(self.styles.accent)
            canv.drawCentredString(width / 2, height - 12 * mm, self.header)
            canv.drawCentredString(width / 2, 10 * mm, self.footer)
        canv.setStrokeColor(self.styles.primary)
        canv.setLineWidth(0.6)
        canv.line(MARGIN_X, 15 * mm, width - MARGIN_X, 15 * mm)
        canv.setFont(fonts.regular, FOOTER_SIZE)
        canv.setFillColor(GREY)
        label = f"Page {self.pages} of "
        canv.drawString(MARGIN_X, 10 * mm, label)
        canv.saveState()
        canv.translate(MARGIN_X + pdfmetrics.stringWidth(label, fonts.regular, FOOTER_SIZE), 10 * mm)
        canv.doForm(TOTAL_FORM)
        canv.restoreState()
        canv.drawRightString(width - MARGIN_X, 10 * mm, self.name)
        canv.restoreState()

    def draw_total(self, canv: Canvas) -> None:
        canv.beginForm(TOTAL_FORM)
        canv.setFont(self.styles.fonts.regular, FOOTER_SIZE)
        canv.setFillColor(GREY)
        canv.drawString(0, 0, str(self.pages))
        canv.endForm()
        for key, page in self.starts.items():
            canv.beginForm(_page_form(key))
            canv.setFont(self.styles.fonts.regular, CONTENTS_SIZE)
            canv.setFillColor(self.styles.primary)
            # a space before the number, right-aligned out of sight: the title and the number are one
            # link's text, which a screen reader and a copy read as "title 2", not "title2"
            canv.drawRightString(CONTENTS_NUMBER, CONTENTS_LEADING - CONTENTS_SIZE, f" {page}")
            canv.endForm()


def fit(text: str, font: str, size: float, width: float) -> str:
    """``text`` cut with an ellipsis to fit ``width`` on one line, an eighth at a time."""
    measure = functools.partial(pdfmetrics.stringWidth, fontName=font, fontSize=size)
    if measure(text) <= width:
        return text
    # lengths past the first prefix wider than the line cannot fit: passed over unmeasured,
    # as measuring each of them made a long title cost time in the square of its length
    widths = itertools.accumulate(measure(c) for c in text)
    wider = next((n for n, w in enumerate(widths, 1) if w > width), len(text))
    n = len(text)
    while n and (n > wider or measure(text[:n] + "\u2026") > width):
        n -= max(1, n // 8)
    return text[:n] + "\u2026"


class HandoutCanvas(Canvas):
    """Dates the file from the edition, fills in the page total just before saving, and marks
    what is drawn for the structure tree (``tagger``), links included."""

    def __init__(self, *args: object, furniture: Furniture, tagger: Tagger, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self._furniture, self.tagger = furniture, tagger
        stamp = f"D:{furniture.publication.edition:%Y%m%d}000000+00'00'"
        self.setDateFormatter(lambda *_: stamp)
        publication = furniture.publication
        # what a link says to a screen reader (PDF/UA-1, 7.18.5): where it goes
        self._link_labels = {passage_key(n): p.title for n, p in enumerate(publication.passages)}
        for number in (note.number for passage in publication.passages for note in passage.notes):
            self._link_labels[note_anchor(number)] = f"Note {number}"
            self._link_labels[ref_anchor(number)] = f"Back to the reference to note {number}"

    def linkRect(self, contents: str, destinationname: str, *args: object, **kwargs: object) -> None:
        super().linkRect(contents, destinationname, *args, **kwargs)
        self.tagger.annotated(self, contents or self._link_labels.get(destinationname, destinationname))

    def linkURL(self, url: str, *args: object, **kwargs: object) -> None:
        super().linkURL(url, *args, **kwargs)
        self.tagger.annotated(self, url)

    def showPage(self) -> None:
        self.tagger.end_page(self)
        super().showPage()

    def save(self) -> None:
        self._furniture.draw_total(self)
        super().save()
