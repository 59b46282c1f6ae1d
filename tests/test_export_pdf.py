"""The PDF handout: round trip through pypdf, structure, fonts, reproducibility, theme."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image as PILImage
from pypdf import PdfReader
from reportlab.lib import colors
from reportlab.platypus.paragraph import cleanBlockQuotedText
from reportlab.platypus.paraparser import ParaParser

from briefkit.model import Inline, Publication, Text, Theme, squash
from exporters import pdf
from exporters.verify import compare, read_back_problems, verify
from tests.samples import rich
from tests.strategies import GENERATION_CHECKS, inlines, publications


@pytest.fixture(scope="module")
def seed_pdf(seed: Publication, tmp_path_factory: pytest.TempPathFactory) -> tuple[Publication, Path]:
    publication = rich(seed)
    return publication, pdf.export(publication, tmp_path_factory.mktemp("pdf"))


def test_seed_round_trip(seed: Publication, tmp_path: Path) -> None:
    path = pdf.export(seed, tmp_path)
    assert path.name == f"{seed.id}-handout.pdf"
    assert compare(seed, pdf.read_back(path)) == []
    assert pdf.check(path) == []


def test_rich_round_trip(seed_pdf: tuple[Publication, Path]) -> None:
    publication, path = seed_pdf
    read = pdf.read_back(path)
    assert compare(publication, read) == []
    body = read[1][1]
    assert "Η γρήγορη καφέ αλεπού" in body and "Швидка бура лисиця" in body
    assert "😀" in body and "中文" in body and "𝄞" in body  # glyph-less characters keep their text
    assert "שלום مرحبا" in body  # logical order, as written
    assert '<b>not bold</b> & "quotes"' in body
    assert squash("(round (nested)) brackets, a back\\slash") in squash(body)  # escaped in the stream
    # list labels are artifacts: the digit that starts an item's text stays, labels do not
    assert "3. not a number" in body
    assert not re.search(r"^\s*[•–◦]", body, re.M) and "5." not in body and "1.nested" not in squash(body)


def test_a_range_of_passages_reads_back_as_that_part_of_the_whole(seed_pdf: tuple[Publication, Path]) -> None:
    """What lets the build verify a long PDF in parts: any cut, even mid-page, gives the two
    sides of the whole read-back, and every part knows how many passages the file has."""
    publication, path = seed_pdf
    whole, n = pdf.read_back(path), len(publication.passages)
    for cut in range(n + 1):
        assert pdf.read_back_range(path, range(0, cut)) == (n, whole[:cut])
        assert pdf.read_back_range(path, range(cut, n)) == (n, whole[cut:])
    assert pdf.read_back_range(path, range(n, n + 3)) == (n, [])


def test_verifying_in_parts_finds_each_difference_once(seed_pdf: tuple[Publication, Path]) -> None:
    publication, path = seed_pdf
    n = len(publication.passages)
    halves = [range(0, n // 2), range(n // 2, n)]
    retitled = list(publication.passages)
    retitled[-1] = dataclasses.replace(retitled[-1], title="A title the file does not have")
    expected = dataclasses.replace(publication, passages=tuple(retitled))
    found = [read_back_problems(expected, pdf.EXPORTER, path, half) for half in halves]
    assert found[0] == [] and len(found[1]) == 1 and found[1][0].startswith(f"passage '{retitled[-1].id}': title")
    assert found[1] == read_back_problems(expected, pdf.EXPORTER, path)  # as the whole file says

    shorter = dataclasses.replace(publication, passages=publication.passages[:-1])  # the file has one more
    found = [read_back_problems(shorter, pdf.EXPORTER, path, half) for half in halves]
    assert found[0] == [f"{n} passages read back, {n - 1} expected"] and found[1] == []  # said once


def test_outline_one_entry_per_passage(seed_pdf: tuple[Publication, Path]) -> None:
    publication, path = seed_pdf
    reader = PdfReader(path)
    assert [item.title for item in reader.outline] == [p.title for p in publication.passages]
    pages = [reader.get_destination_page_number(item) for item in reader.outline]
    assert pages == sorted(pages) and pages[-1] > 0


def test_fonts_embedded_truetype(seed_pdf: tuple[Publication, Path]) -> None:
    _, path = seed_pdf
    reader = PdfReader(path)
    base_fonts = set()
    for page in reader.pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            base_fonts.add(str(font["/BaseFont"]))
            assert font["/Subtype"] == "/TrueType"
            assert "/FontFile2" in font["/FontDescriptor"].get_object()
    assert not any("Helvetica" in name or "Times" in name for name in base_fonts)
    assert any("DejaVuSans" in name for name in base_fonts) and any("DejaVuSansMono" in name for name in base_fonts)


def test_footer_document_info_and_language(seed_pdf: tuple[Publication, Path]) -> None:
    publication, path = seed_pdf
    reader = PdfReader(path)
    count = len(reader.pages)
    assert count >= 2
    for number, page in enumerate(reader.pages, 1):
        text = page.extract_text()
        assert re.search(rf"Page\s*{number}\s*of\s*{count}\b", text), text[-200:]
        assert publication.classification in text
    info = reader.metadata
    assert info.title == publication.title
    assert info.author == publication.author
    assert info.subject == publication.description
    assert "nato" in info["/Keywords"]
    assert info.creation_date.date() == publication.edition
    assert reader.trailer["/Root"]["/Lang"] == publication.language


def test_links_are_clickable(seed_pdf: tuple[Publication, Path]) -> None:
    _, path = seed_pdf
    uris = [
        annot.get_object()["/A"]["/URI"]
        for page in PdfReader(path).pages
        for annot in page.get("/Annots", [])
        if "/A" in annot.get_object()
    ]
    assert "https://example.org/?a=1&b=2" in uris


def test_byte_reproducible(seed: Publication, tmp_path: Path) -> None:
    publication = rich(seed)
    first = pdf.export(publication, tmp_path / "a").read_bytes()
    second = pdf.export(publication, tmp_path / "b").read_bytes()
    assert first == second


@settings(max_examples=30, deadline=None, suppress_health_check=GENERATION_CHECKS)
@given(publication=publications())
def test_any_valid_publication_exports_and_verifies(
    publication: Publication, tmp_path_factory: pytest.TempPathFactory
) -> None:
    path = pdf.export(publication, tmp_path_factory.mktemp("prop"))
    verify(publication, pdf.EXPORTER, path)


def test_markup_characters_print_as_written(seed: Publication, tmp_path: Path) -> None:
    nasty = "<b>x</b> & &amp; \"q\" 'a' <font name=Helvetica> ]]> <br/> &#65;"
    publication = dataclasses.replace(
        seed, title=nasty, subtitle=nasty, organisation=nasty, classification=nasty,
        passages=tuple(dataclasses.replace(p, title=nasty + p.title, summary=nasty) for p in seed.passages),
    )  # fmt: skip
    path = pdf.export(publication, tmp_path)
    assert compare(publication, pdf.read_back(path)) == []
    first_page = PdfReader(path).pages[0].extract_text()
    assert squash(nasty) in squash(first_page)


@pytest.mark.parametrize(("size", "expected"), [("A4", (595, 842)), ("Letter", (612, 792))])
def test_page_size_follows_theme(seed: Publication, tmp_path: Path, size: str, expected: tuple[int, int]) -> None:
    publication = dataclasses.replace(seed, theme=Theme(page_size=size))
    box = PdfReader(pdf.export(publication, tmp_path)).pages[0].mediabox
    assert (round(box.width), round(box.height)) == expected


def test_colours_font_and_logo_follow_theme(seed: Publication, tmp_path: Path) -> None:
    logo = tmp_path / "logo.png"
    PILImage.new("RGB", (240, 80), (10, 120, 60)).save(logo)
    theme = Theme(font="Liberation Serif", primary_color="#0A7A3C", accent_color="#123456", logo=logo)
    path = pdf.export(dataclasses.replace(seed, theme=theme), tmp_path / "out")
    reader = PdfReader(path)
    page = reader.pages[0]
    content = page.get_contents().get_data()
    assert b".039216 .478431 .235294 rg" in content  # primary #0A7A3C on headings
    assert b".070588 .203922 .337255 rg" in content  # accent #123456 on the classification
    fonts = {str(f.get_object()["/BaseFont"]) for f in page["/Resources"]["/Font"].values()}
    assert any("LiberationSerif" in name for name in fonts)
    images = [x.get_object() for x in page["/Resources"]["/XObject"].values() if x.get_object()["/Subtype"] == "/Image"]
    assert [(im["/Width"], im["/Height"]) for im in images] == [(240, 80)]
    assert compare(dataclasses.replace(seed, theme=theme), pdf.read_back(path)) == []


def test_no_summaries_means_no_key_points(seed: Publication, tmp_path: Path) -> None:
    publication = dataclasses.replace(seed, passages=tuple(dataclasses.replace(p, summary="") for p in seed.passages))
    text = PdfReader(pdf.export(publication, tmp_path)).pages[0].extract_text()
    assert "Key points" not in text
    with_summaries = PdfReader(pdf.export(seed, tmp_path / "b")).pages[0].extract_text()
    assert "Key points" in with_summaries


def test_registered(seed: Publication) -> None:
    from exporters.registry import get

    assert get("pdf") is pdf.EXPORTER
    assert pdf.EXPORTER.filename(seed) == f"{seed.id}-handout.pdf"


def test_content_stream_tokens() -> None:
    data = (
        b"/Artifact BMC BT /F1+0 10 Tf 1 0 0 1 -.5 3. Tm (a\\(b\\)c\\\\d\\101\\\n\\n) Tj [(x) -120 <4142 4> ] TJ ET EMC"
    )
    assert list(pdf.operations(data)) == [
        (["/Artifact"], b"BMC"), ([], b"BT"), (["/F1+0", 10.0], b"Tf"), ([1.0, 0.0, 0.0, 1.0, -0.5, 3.0], b"Tm"),
        ([b"a(b)c\\dA\n"], b"Tj"), ([[b"x", -120.0, b"AB@"]], b"TJ"), ([], b"ET"), ([], b"EMC"),
    ]  # fmt: skip
    with pytest.raises(ValueError, match="unexpected"):
        list(pdf.operations(b"(unbalanced ( paren) Tj"))


def test_headings_never_end_a_page(seed: Publication, tmp_path: Path) -> None:
    """Over many page breaks, no page ends with a heading and every outline entry points
    at the page its heading is drawn on."""
    passages = tuple(dataclasses.replace(p, id=f"{p.id}-{n}") for n in range(4) for p in rich(seed).passages)
    publication = dataclasses.replace(seed, passages=passages)
    path = pdf.export(publication, tmp_path)
    reader = PdfReader(path)
    maps: dict[object, dict[int, str]] = {}
    pages = [pdf.page_runs(reader, n, maps) for n in range(len(reader.pages))]
    assert len(pages) > 8
    body_size = 10
    for runs in pages[:-1]:
        assert runs[-1].size <= body_size, f"page {runs[-1].page + 1} ends with {runs[-1].text!r}"
    for item, passage in zip(reader.outline, passages):
        page = pages[reader.get_destination_page_number(item)]
        heading = next(r for r in page if r.size == pdf.TITLE_SIZE and -r.y >= -float(item.top))
        assert squash(passage.title).startswith(squash(heading.text))


@settings(max_examples=300, deadline=None, suppress_health_check=GENERATION_CHECKS)
@given(children=inlines, spaces=st.lists(st.sampled_from([" ", "  ", "\n", "\u00a0", "\u2028", "\u3000"]), max_size=4))
def test_fragments_are_those_reportlab_parses_from_the_markup(children: tuple[Inline, ...], spaces: list[str]) -> None:
    """The export builds paragraphs from the model without markup to parse; what it builds
    must be what reportlab's parser makes of the markup, fragment for fragment, so that the
    handout's bytes are the same."""
    styles = pdf.Styles(pdf.fonts_for("DejaVu Sans"), colors.HexColor("#1F4E79"), colors.HexColor("#C00000"))
    children = (*(Text(space) for space in spaces[:2]), *children, *(Text(space) for space in spaces[2:]))
    for style in (styles.body, styles.title):
        built = styles.fragments.paragraph(children, style).frags
        _, parsed, _ = ParaParser().parse(cleanBlockQuotedText(pdf.markup(children, styles)), style)
        assert [f.__dict__ for f in built] == [f.__dict__ for f in parsed]


_numbers = st.lists(
    st.one_of(st.integers(-(10**6), 10**6), st.floats(-1e6, 1e6), st.booleans()), min_size=1, max_size=6
)


@settings(max_examples=300, deadline=None)
@given(numbers=_numbers)
def test_remembered_numbers_format_as_reportlab_formats_them(numbers: list[float]) -> None:
    """The export remembers how reportlab formats numbers; any number equal to one already
    formatted (1 and 1.0 and True, 0.0 and -0.0) must format as reportlab formats it."""
    from reportlab.lib.rl_accel import fp_str

    formatted = pdf.remembered(fp_str)
    for alike in ([float(n) for n in numbers], [int(n) if float(n).is_integer() else n for n in numbers], numbers):
        assert formatted(*alike) == fp_str(*alike)
    assert formatted(numbers) == fp_str(numbers)  # one list argument: formatted afresh


def test_remembered_font_metrics_are_reportlabs(seed: Publication) -> None:
    from reportlab.pdfbase.pdfmetrics import getAscentDescent

    for name in pdf.fonts_for(seed.theme.font).faces:
        for size in (0, 9.5, 10, 10.0, 15, None):
            assert pdf.font_metrics(name, size) == pdf.font_metrics(name, size) == getAscentDescent(name, size)


@settings(max_examples=30, deadline=None, suppress_health_check=GENERATION_CHECKS)
@given(
    children=inlines,
    pages=st.floats(1.2, 3.0),
    where=st.sampled_from(["paragraph", "list", "quote"]),
    wide_first=st.booleans(),
)
def test_a_paragraph_over_pages_is_laid_out_as_reportlab_lays_it_out(
    seed: Publication,
    tmp_path_factory: pytest.TempPathFactory,
    children: tuple[Inline, ...],
    pages: float,
    where: str,
    wide_first: bool,
) -> None:
    """The rest of a split paragraph takes the lines already broken for it instead of
    breaking them again; the handout must be byte for byte what reportlab's own split
    makes, whatever the paragraph holds (markup, links, words wider than a line, which
    reportlab splits into pieces) and wherever it is (a paragraph, a list item, a quote)."""
    from reportlab.platypus import Paragraph as ReportlabParagraph

    from briefkit.model import BlockQuote, ListBlock
    from briefkit.model import Paragraph as Para

    length = len(" ".join(pdf.block_texts((Para(children),))))
    wide = (Text("w" * 300 + " "),) if wide_first else ()  # a word reportlab splits, then the rest
    long = Para(wide + children * max(1, round(pages * 4500 / max(length, 1))))  # about 4,500 characters a page
    block = {
        "paragraph": long,
        "list": ListBlock(False, 1, ((long,), (Para((Text("short"),)),))),
        "quote": BlockQuote((long,)),
    }[where]
    publication = dataclasses.replace(seed, passages=(dataclasses.replace(seed.passages[0], blocks=(block,)),))
    carried = pdf.export(publication, tmp_path_factory.mktemp("carried")).read_bytes()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(pdf.Paragraph, "split", ReportlabParagraph.split)
        afresh = pdf.export(publication, tmp_path_factory.mktemp("afresh")).read_bytes()
    assert carried == afresh


def test_a_list_item_one_line_longer_than_a_page_still_splits(tmp_path: Path) -> None:
    """reportlab will not leave one line alone on the next page, so such an item fitted on
    no page and the export stopped (LayoutError); at the top of a page it now leaves two."""
    from reportlab.platypus import Frame, PageTemplate
    from reportlab.platypus.doctemplate import BaseDocTemplate

    from briefkit.model import Paragraph as Para

    styles = pdf.Styles(pdf.fonts_for("DejaVu Sans"), colors.HexColor("#1F4E79"), colors.HexColor("#C00000"))
    width, height = 300.0, 20 * styles.body.leading + 1  # a page holds 20 lines

    def item(words: int) -> tuple[object, int]:
        made = pdf._list(False, 1, ((Para((Text("word " * words),)),),), styles, False, 0)
        inner = styles.fragments.text("word " * words, styles.body)
        inner.wrap(width - 16, 10**6)  # 16: the list's indent
        return made, len(inner.blPara.lines)

    words = next(n for n in range(100, 400) if item(n)[1] == 21)  # a line more than a page
    doc = BaseDocTemplate(
        str(tmp_path / "list.pdf"), pagesize=(width, height), leftMargin=0, rightMargin=0, topMargin=0, bottomMargin=0
    )
    doc.addPageTemplates(
        [
            PageTemplate(
                "page",
                [Frame(0, 0, width, height, id="body", leftPadding=0, rightPadding=0, topPadding=0, bottomPadding=0)],
            )
        ]
    )
    doc.build([item(words)[0]])
    text = squash(" ".join(page.extract_text() for page in PdfReader(tmp_path / "list.pdf").pages))
    assert text.count("word") == words and len(PdfReader(tmp_path / "list.pdf").pages) == 2
