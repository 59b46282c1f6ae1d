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
KEY_POINTS_ROWS = 25
SUMMARY_TITLE = "Executive summary"
CONTENTS_TITLE = "Contents"
CONTENTS_SIZE, CONTENTS_LEADING, CONTENTS_NUMBER = 9.5, 13, 15 * mm


class _Logo(Tagged, Image):
    """The organisation's logo, a Figure described by the organisation's name."""


def title_block(publication: Publication, styles: Styles, width: float, cover: Element) -> list[Flowable]:
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
    out += [Spacer(1, 3 * mm), _banner(publication, styles, width, cover), Spacer(1, 6 * mm)]
    return out


def _banner(publication: Publication, styles: Styles, width: float, cover: Element) -> Flowable:
    """The classification on the accent colour, then the edition date; a rule beneath."""
    classification = cover.add("P")  # before the edition, as it reads
    edition = Paragraph(
        f"Edition {publication.edition_date}", styles.para("edition", 9.5, 12, textColor=GREY), cover.add("P")
    )
    style = [*styles.table, ("LINEBELOW", (0, 0), (-1, -1), 1.2, styles.primary), ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
             ("LEFTPADDING", (0, 0), (-1, -1), 6), ("BOTTOMPADDING", (0, 0), (-1, -1), 5)]  # fmt: skip
    if not publication.classification:
        return Table([[edition]], colWidths=[width], style=TableStyle(style))
    banner = Paragraph(plain(publication.classification), styles.para(
        "banner", 9.5, 12, fontName=styles.fonts.bold, textColor=colors.white), classification)  # fmt: skip
    style.append(("BACKGROUND", (0, 0), (0, 0), styles.accent))
    return Table([[banner, edition]], colWidths=[width * 0.55, width * 0.45], style=TableStyle(style))


def key_points(publication: Publication, styles: Styles, width: float, document: Element) -> list[Flowable]:
    """A tinted box of each passage's title, linked to the passage, and summary, in tables of
    KEY_POINTS_ROWS rows that meet seamlessly: reportlab measures every remaining row of a
    table again at each page it splits across. A list to a screen reader."""
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
    rows = [[head]] + [
        [Paragraph(f'<a href="#{passage_key(n)}" color="{styles.link_color}"><b>{plain(p.title)}</b></a><br/>'
                   f"{plain(p.summary)}", item, summaries.add("LI").add("LBody"), bulletText="\u2022")]
        for n, p in enumerate(publication.passages) if p.summary
    ]  # fmt: skip
    tint = colors.Color(*(0.92 + 0.08 * c for c in styles.primary.rgb()))
    box = [
        *styles.table, ("BACKGROUND", (0, 0), (-1, -1), tint), ("LINEBEFORE", (0, 0), (0, -1), 3, styles.primary),
        ("LEFTPADDING", (0, 0), (-1, -1), 10), ("RIGHTPADDING", (0, 0), (-1, -1), 10),
        ("TOPPADDING", (0, 0), (-1, -1), 2), ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
    ]  # fmt: skip
    tables: list[Flowable] = []
    for start in range(0, len(rows), KEY_POINTS_ROWS):
        style = [*box]
        if start == 0:
            style.append(("TOPPADDING", (0, 0), (-1, 0), 8))
        if start + KEY_POINTS_ROWS >= len(rows):
            style.append(("BOTTOMPADDING", (0, -1), (-1, -1), 9))
        part = rows[start : start + KEY_POINTS_ROWS]
        tables.append(Table(part, colWidths=[width], splitInRow=1, style=TableStyle(style)))
    return [*tables, Spacer(1, 4 * mm)]


def contents(publication: Publication, styles: Styles, width: float, document: Element) -> list[Flowable]:
    """Each passage's title and page number, both linked to it, in tables of KEY_POINTS_ROWS rows
    (one table would be measured again at each page it splits across). A number is a form
    filled in after the last page, as "Page X of Y" is, so the contents need no second layout."""
    part = document.add("Div")
    head = Paragraph(CONTENTS_TITLE, styles.para("contents-head", 11, 14, fontName=styles.fonts.bold,
                                                 textColor=styles.primary, spaceAfter=4), part.add("H1"))  # fmt: skip
    toc = part.add("TOC")
    line = styles.para("contents", CONTENTS_SIZE, CONTENTS_LEADING)
    link = '<a href="#{}" color="' + styles.link_color + '">{}</a>'
    rows = []
    for n, passage in enumerate(publication.passages):
        entry, key = toc.add("TOCI"), passage_key(n)
        rows.append([Paragraph(link.format(key, plain(passage.title)), line, entry.add("P")),
                     _PageOf(key, entry.add("Link"))])  # fmt: skip
    padding = [*styles.table, ("VALIGN", (0, 0), (-1, -1), "TOP"), ("LEFTPADDING", (0, 0), (-1, -1), 0),
               ("RIGHTPADDING", (0, 0), (-1, -1), 0), ("TOPPADDING", (0, 0), (-1, -1), 1),
               ("BOTTOMPADDING", (0, 0), (-1, -1), 1)]  # fmt: skip
    tables = [Table(rows[start : start + KEY_POINTS_ROWS], colWidths=[width - CONTENTS_NUMBER, CONTENTS_NUMBER],
                    style=TableStyle(padding)) for start in range(0, len(rows), KEY_POINTS_ROWS)]  # fmt: skip
    return [head, *tables, Spacer(1, 6 * mm)]


def _page_form(key: str) -> str:
    return f"briefkit-page-of-{key}"


class _PageOf(Tagged, Flowable):
    """The page passage ``key`` starts on, right-aligned and linked to it."""

    def __init__(self, key: str, tag: Element) -> None:
        super().__init__()
        self.key, self.tag = key, tag

    def wrap(self, available_width: float, available_height: float) -> tuple[float, float]:
        self.width, self.height = CONTENTS_NUMBER, CONTENTS_LEADING
        return self.width, self.height

    def draw(self) -> None:
        self.canv.doForm(_page_form(self.key))
        self.canv.linkRect("", self.key, (0, 0, self.width, self.height), relative=1, thickness=0)


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
            canv.drawRightString(CONTENTS_NUMBER, CONTENTS_LEADING - CONTENTS_SIZE, str(page))
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
