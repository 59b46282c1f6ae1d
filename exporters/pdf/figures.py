"""Figures: the image at a sensible size, its alt text as invisible text over it, the caption below."""

from __future__ import annotations

from reportlab.lib.utils import simpleSplit
from reportlab.platypus import Flowable

from briefkit.model import Figure, figure_prefix
from exporters.pdf.fixes import with_stand_ins
from exporters.pdf.paragraphs import Paragraph
from exporters.pdf.styles import Styles, markup, plain
from exporters.pdf.tagging import Element, Tagged

DPI = 150  # a figure narrower than the frame is shown at this resolution, never blown up
MAX_HEIGHT = 340.0  # points (12 cm): a figure always fits on a page, with its caption
ALT_SIZE = 6.0
INVISIBLE = 3  # text render mode: neither filled nor stroked


class _Image(Tagged, Flowable):
    """The image, scaled to fit; its alt text is drawn invisibly across it, so search, copy and
    read-back find it where the image is, as a screen reader would announce it."""

    def __init__(self, figure: Figure, font: str, tag: Element | None) -> None:
        super().__init__()
        self._figure, self._font, self.tag = figure, font, tag

    def wrap(self, availWidth: float, availHeight: float) -> tuple[float, float]:
        figure = self._figure
        self.width = min(availWidth, figure.width * 72 / DPI)
        self.height = self.width * figure.height / figure.width
        if self.height > MAX_HEIGHT:
            self.width, self.height = MAX_HEIGHT * figure.width / figure.height, MAX_HEIGHT
        self._x = (availWidth - self.width) / 2
        return availWidth, self.height

    def draw(self) -> None:
        canv = self.canv
        canv.drawImage(str(self._figure.path), self._x, 0, self.width, self.height)
        if self._figure.alt:  # in lines across the image, from its top, so it stays on the page
            text = canv.beginText(self._x, self.height - ALT_SIZE)
            text.setTextRenderMode(INVISIBLE)
            text.setFont(self._font, ALT_SIZE, ALT_SIZE)
            # soft hyphens as stand-ins, as in all text: a drawn soft hyphen is one the layout added (hyphens.py)
            lines = simpleSplit(with_stand_ins(self._figure.alt), self._font, ALT_SIZE, self.width)
            for n, line in enumerate(lines, 1):  # broken at spaces only: each line but the last ends a word
                text.textLine(line if n == len(lines) else line + " ")
            canv.drawText(text)


class _Figure(Flowable):
    """The image with its caption below, moved to the next page whole when it does not fit: what
    KeepTogether does, but KeepTogether breaks the frame with a flowable that reportlab raises on
    when a list item or a quote's indent wraps it ("_FrameBreak.wrap should never be called")."""

    def __init__(self, image: _Image, caption: Paragraph) -> None:
        super().__init__()
        self.image, self.caption = image, caption

    def wrap(self, availWidth: float, availHeight: float) -> tuple[float, float]:
        image_height = self.image.wrap(availWidth, availHeight)[1]
        self._caption_top = self.caption.wrap(availWidth, availHeight)[1]
        self.width, self.height = availWidth, image_height + self.caption.getSpaceBefore() + self._caption_top
        return self.width, self.height

    def getSpaceAfter(self) -> float:
        return self.caption.getSpaceAfter()

    def draw(self) -> None:
        self.image.drawOn(self.canv, 0, self._caption_top + self.caption.getSpaceBefore())
        self.caption.drawOn(self.canv, 0, 0)


def figure_flowables(figure: Figure, styles: Styles, parent: Element) -> list[Flowable]:
    """A Figure element with the alt text, then the caption; a decorative image (no alt text) is an artifact."""
    image = _Image(figure, styles.fonts.regular, parent.add("Figure", alt=figure.alt) if figure.alt else None)
    label = plain(figure_prefix(figure, styles.language))
    caption = Paragraph(label + markup(figure.caption, styles), styles.figure_caption, parent.add("P"))
    return [_Figure(image, caption)]
