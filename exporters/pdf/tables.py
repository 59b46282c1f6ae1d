"""Tables: reportlab Tables of wrapping Paragraphs whose header row repeats on every page."""

from __future__ import annotations

from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import CondPageBreak, Flowable, TableStyle
from reportlab.platypus import Table as RLTable

from briefkit.model import Table, inline_text
from exporters.pdf.paragraphs import Paragraph
from exporters.pdf.styles import Styles, markup
from exporters.pdf.tagging import Element

GRID = 0.5  # points
WIDEST = 40  # characters: a column's share of the width grows with its longest cell up to this
NARROWEST = 4
ROOM_FOR_CAPTION = 72  # points: a caption moves to the next page unless it and a row or two fit


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


def table_flowables(table: Table, styles: Styles, parent: Element) -> list[Flowable]:
    """The caption above, then the table at the width of the frame, its header row repeating."""
    element = parent.add("Table")
    caption = element.add("Caption")  # first, as it is shown
    rows = (table.header, *table.rows)
    data = []
    for n, row in enumerate(rows):
        tr = element.add("TR")
        cells = [tr.add("TH", Scope="Column") if n == 0 else tr.add("TD") for _ in row]
        data.append([Paragraph(markup(cell, styles), styles.cell(align, header=n == 0), tag)
                     for cell, align, tag in zip(row, table.aligns, cells)])  # fmt: skip
    shares = [
        min(WIDEST, max(NARROWEST, *(len(inline_text(row[c])) for row in rows))) for c in range(len(table.aligns))
    ]
    widths = [f"{100 * share / sum(shares):.4f}%" for share in shares]
    style = TableStyle([
        *styles.table,
        ("GRID", (0, 0), (-1, -1), GRID, styles.rule), ("BACKGROUND", (0, 0), (-1, 0), styles.primary),
        ("VALIGN", (0, 0), (-1, -1), "TOP"), ("TOPPADDING", (0, 0), (-1, -1), 3), ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
        ("LEFTPADDING", (0, 0), (-1, -1), 4), ("RIGHTPADDING", (0, 0), (-1, -1), 4),
    ])  # fmt: skip
    body = _Table(data, colWidths=widths, repeatRows=1, style=style, hAlign="LEFT", spaceBefore=4, spaceAfter=8)
    if not table.caption:
        return [body]
    return [CondPageBreak(ROOM_FOR_CAPTION), Paragraph(markup(table.caption, styles), styles.caption, caption), body]
