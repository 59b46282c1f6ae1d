"""Tables: reportlab Tables of wrapping Paragraphs whose header row repeats on every page."""

from __future__ import annotations

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import CondPageBreak, Flowable, TableStyle
from reportlab.platypus import Table as RLTable

from briefkit.model import Inline, Table, inline_text
from exporters.pdf.hyphens import HyphenatedParagraph
from exporters.pdf.paragraphs import Paragraph
from exporters.pdf.styles import CELL_SIZE, Styles, markup
from exporters.pdf.tagging import Element

GRID = 0.5  # points
WIDEST = 40  # characters: a column's share of the width grows with its longest cell up to this
NARROWEST = 4
PADDING = 4  # points, left and right in each cell
ROOM_FOR_CAPTION = 72  # points: a caption moves to the next page unless it and a row or two fit
LEAST = CELL_SIZE + 2 * PADDING + GRID  # points: the narrowest column, room for about one character
SPACE_BEFORE, SPACE_AFTER = 4, 8  # points


class _Table(RLTable):
    """A reportlab Table whose repeated header rows are artifacts: furniture on the pages after
    the first, so the text reads once, as the model has it."""

    _repeated = 0  # how many leading rows repeat those of the page before

    def split(self, availWidth: float, availHeight: float) -> list[Flowable]:
        parts = super().split(availWidth, availHeight)
        for n, part in enumerate(parts):
            part._repeated = self._repeated if n == 0 else self.repeatRows
        return parts

    def _drawCell(self, cellval: object, cellstyle: object, pos: tuple[float, float], size: object) -> None:
        canv: Canvas = self.canv
        if pos[1] in self._rowpositions[1 : 1 + self._repeated]:
            with canv.tagger.artifact():
                super()._drawCell(cellval, cellstyle, pos, size)
        else:
            super()._drawCell(cellval, cellstyle, pos, size)


class _Sized(Flowable):
    """A table whose columns are shared out of the width it is given: the text's, or less in a
    list item or a quote. Laid out as a reportlab Table made for that width."""

    def __init__(
        self,
        rows: tuple[tuple[tuple[Inline, ...], ...], ...],
        data: list[list[Flowable]],
        styles: Styles,
        style: TableStyle,
    ) -> None:
        super().__init__()
        self._rows, self._data, self._styles, self._style = rows, data, styles, style
        self._table: _Table | None = None
        self._width = 0.0  # the width the table's columns were shared out of
        self.spaceBefore, self.spaceAfter = SPACE_BEFORE, SPACE_AFTER  # the parts of a split keep the table's

    def _for(self, width: float) -> _Table:
        if self._table is None or self._width != width:
            widths = _widths(self._rows, self._styles, width)
            self._table = _Table(self._data, colWidths=widths, repeatRows=1, style=self._style, hAlign="LEFT",
                                 spaceBefore=SPACE_BEFORE, spaceAfter=SPACE_AFTER)  # fmt: skip
            self._width = width
        return self._table

    def wrap(self, availWidth: float, availHeight: float) -> tuple[float, float]:
        self.width, self.height = self._for(availWidth).wrap(availWidth, availHeight)
        return self.width, self.height

    def split(self, availWidth: float, availHeight: float) -> list[Flowable]:
        return self._for(availWidth).split(availWidth, availHeight)

    def draw(self) -> None:
        self._table.drawOn(self.canv, 0, 0)


def table_flowables(table: Table, styles: Styles, parent: Element) -> list[Flowable]:
    """The caption above, then the table at the width it is given, its header row repeating."""
    element = parent.add("Table")
    caption = element.add("Caption")  # first, as it is shown
    rows = (table.header, *table.rows)
    data = []
    for n, row in enumerate(rows):
        tr = element.add("TR")
        cells = [tr.add("TH", Scope="Column") if n == 0 else tr.add("TD") for _ in row]
        data.append([HyphenatedParagraph(markup(cell, styles), styles.cell(align, header=n == 0), tag)
                     for cell, align, tag in zip(row, table.aligns, cells)])  # fmt: skip
    style = TableStyle([
        *styles.table,
        ("GRID", (0, 0), (-1, -1), GRID, styles.rule), ("BACKGROUND", (0, 0), (-1, 0), styles.primary),
        ("VALIGN", (0, 0), (-1, -1), "TOP"), ("TOPPADDING", (0, 0), (-1, -1), 3), ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
        ("LEFTPADDING", (0, 0), (-1, -1), PADDING), ("RIGHTPADDING", (0, 0), (-1, -1), PADDING),
    ])  # fmt: skip
    body = _Sized(rows, data, styles, style)
    if not table.caption:
        return [body]
    return [CondPageBreak(ROOM_FOR_CAPTION), Paragraph(markup(table.caption, styles), styles.caption, caption), body]


def _widths(rows: tuple[tuple[tuple[Inline, ...], ...], ...], styles: Styles, width: float) -> list[float]:
    """Each column's share of ``width``: it grows with its longest cell, but is not narrower than
    its longest word, which would be cut mid-word. Columns too narrow for theirs are widened, in
    turn, taking the room from the others in proportion to their shares. Where the words cannot
    all be kept whole, each column has room for a character and the rest goes by what each needs."""
    columns = range(len(rows[0]))
    shares = [min(WIDEST, max(NARROWEST, *(len(inline_text(row[c])) for row in rows))) for c in columns]
    floors = [max(LEAST, *(_longest_word(row[c], styles, n == 0) for n, row in enumerate(rows))) for c in columns]
    if (need := sum(floors)) > width:  # long words are split to fit (splitLongWords)
        least = LEAST * len(floors)
        return [LEAST + (width - least) * (floor - LEAST) / (need - least) for floor in floors]
    widened: set[int] = set()
    while True:
        rest = [c for c in columns if c not in widened]
        room = width - sum(floors[c] for c in widened)
        widths = [floors[c] if c in widened else room * shares[c] / sum(shares[r] for r in rest) for c in columns]
        short = {c for c in rest if widths[c] < floors[c]}
        if not short or len(short) == len(rest):
            return widths
        widened |= short


def _longest_word(cell: tuple[Inline, ...], styles: Styles, header: bool) -> float:
    """The width a cell needs for its longest word (in the header's bold face, or the bold of
    inline emphasis at worst), with the cell's padding and grid line."""
    font = styles.fonts.bold
    words = inline_text(cell).split() or [""]
    return max(pdfmetrics.stringWidth(w, font, CELL_SIZE) for w in words) + 2 * PADDING + GRID
