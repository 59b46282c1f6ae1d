"""The PDF handout: a compact, printable summary of a publication, laid out by reportlab.

One layout pass: "Page X of Y" draws Y, and the contents each passage's page, from form
XObjects filled in after the last page. A tagged PDF (PDF/UA-1): the structure tree holds
the front matter, then a Sect per passage, in reading order (see tagging); read_back reads
the text through it. Each passage also has an outline entry, its ## sections nested under it.
"""

from __future__ import annotations

import functools
from pathlib import Path

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, LETTER
from reportlab.platypus import BaseDocTemplate, Flowable, Frame, PageTemplate

from briefkit.model import Publication, body_texts
from exporters.packaging import atomic_path
from exporters.pdf import fixes
from exporters.pdf.blocks import passage_flowables
from exporters.pdf.fonts import fonts_for
from exporters.pdf.furniture import (
    MARGIN_BOTTOM,
    MARGIN_TOP,
    MARGIN_X,
    Furniture,
    HandoutCanvas,
    contents,
    key_points,
    title_block,
)
from exporters.pdf.readback import check, read_back
from exporters.pdf.styles import Styles
from exporters.pdf.tagging import Element, Tagger, write_tree
from exporters.registry import describe

__all__ = ["check", "export", "read_back"]  # the registry's interface; check and read_back live in readback

PAGE_SIZES = {"A4": A4, "Letter": LETTER}


def export(publication: Publication, dest_dir: Path) -> Path:
    """Write the handout to ``dest_dir`` and return its path."""
    theme = publication.theme
    fonts = fonts_for(theme.font)
    fonts.keep_text(_all_text(publication))
    page_size = PAGE_SIZES[theme.page_size]
    width = page_size[0] - 2 * MARGIN_X
    primary, accent = colors.HexColor(theme.primary_color), colors.HexColor(theme.accent_color)
    styles = Styles(fonts, primary, accent, publication.language, width)
    furniture = Furniture(publication, styles, page_size[0])

    document = Element("Document")
    story = [*title_block(publication, styles, document.add("Div")),
             *contents(publication, styles, document), *key_points(publication, styles, document)]  # fmt: skip
    for index, passage in enumerate(publication.passages):
        story += passage_flowables(index, passage, styles, document)
    dest = dest_dir / describe("pdf").filename(publication)
    with fixes.applied(), atomic_path(dest) as tmp:
        doc = _Document(
            str(tmp), furniture.starts, pagesize=page_size, leftMargin=MARGIN_X, rightMargin=MARGIN_X,
            topMargin=MARGIN_TOP, bottomMargin=MARGIN_BOTTOM, title=publication.title, author=publication.author,
            subject=publication.description or publication.subtitle, keywords=", ".join(publication.keywords),
            creator="briefkit", lang=publication.language, invariant=1, initialFontName=fonts.regular,
        )  # fmt: skip
        frame = Frame(MARGIN_X, MARGIN_BOTTOM, width, page_size[1] - MARGIN_TOP - MARGIN_BOTTOM, id="body",
                      leftPadding=0, rightPadding=0, topPadding=0, bottomPadding=0)  # fmt: skip
        doc.addPageTemplates([PageTemplate("page", [frame], onPage=furniture.draw_page)])
        doc.build(story, canvasmaker=functools.partial(HandoutCanvas, furniture=furniture, tagger=Tagger()))
        write_tree(tmp, document, publication)
    return dest


class _Document(BaseDocTemplate):
    """Notes the page each passage starts on in ``pages``."""

    def __init__(self, target: object, pages: dict[str, int], **kw: object) -> None:
        super().__init__(target, **kw)
        self.pages = pages

    def afterFlowable(self, flowable: Flowable) -> None:
        if (key := getattr(flowable, "contents_key", None)) is not None:
            self.pages[key] = self.page


def _all_text(publication: Publication) -> set[str]:
    parts = [publication.title, publication.subtitle, *publication.byline, publication.edition_date]
    parts.append(publication.classification)
    for passage in publication.passages:
        parts += [passage.title, passage.summary, *body_texts(passage, publication.language)]
    return set("".join(parts))
