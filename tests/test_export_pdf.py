"""The PDF handout: round trip through pypdf, structure, fonts, reproducibility, theme."""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import pickle
import re
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from PIL import Image as PILImage
from pypdf import PageObject, PdfReader, mult

from briefkit.fonts import FONT_DIRS
from briefkit.markdown import ROW_CHARS, parse_body
from briefkit.model import (
    BlockQuote,
    Emph,
    Footnote,
    Heading,
    Inline,
    ListBlock,
    NoteRef,
    Passage,
    Publication,
    Table,
    Text,
    Theme,
    block_texts,
    squash,
)
from briefkit.model import Paragraph as Para
from exporters import pdf, registry
from exporters.pdf import blocks, paragraphs
from exporters.verify import compare, verify
from tests.conftest import ROOT
from tests.samples import briefing, chart_png, rich
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
    # list labels (Lbl) are not read back as text: the digit that starts an item's text stays, labels do not
    assert "3. not a number" in body
    assert not re.search(r"^\s*[•–◦]", body, re.M) and "5." not in body and "1.nested" not in squash(body)


def test_outline_one_entry_per_passage(seed_pdf: tuple[Publication, Path]) -> None:
    publication, path = seed_pdf
    reader = PdfReader(path)
    top = [item for item in reader.outline if not isinstance(item, list)]  # sections are nested
    assert [item.title for item in top] == [p.title for p in publication.passages]
    pages = [reader.get_destination_page_number(item) for item in top]
    assert pages == sorted(pages) and pages[-1] > 0


def test_outline_nests_each_passage_sections_under_it(seed: Publication, tmp_path: Path) -> None:
    publication = rich(seed)
    path = pdf.export(publication, tmp_path)
    verify(publication, registry.get("pdf"), path)  # passages still found by the top level; check passes
    reader = PdfReader(path)
    top = [item.title for item in reader.outline if not isinstance(item, list)]
    assert top == [p.title for p in publication.passages]
    rich_at = next(
        n for n, item in enumerate(reader.outline) if getattr(item, "title", "") == publication.passages[1].title
    )
    sections = reader.outline[rich_at + 1]
    assert [item.title for item in sections] == ["Second level"]  # ## only: ### stays out of the outline
    page = reader.get_destination_page_number(sections[0])
    assert "Second level" in reader.pages[page].extract_text()


def test_contents_give_each_passage_its_page(seed: Publication, tmp_path: Path) -> None:
    """120 passages: the contents run over pages, each title with the page its passage starts on."""
    passages = tuple(dataclasses.replace(seed.passages[n % 10], id=f"p-{n}", title=f"Passage {n}") for n in range(120))
    publication = dataclasses.replace(seed, passages=passages)
    path = pdf.export(publication, tmp_path)
    verify(publication, registry.get("pdf"), path)
    reader = PdfReader(path)
    starts = [reader.get_destination_page_number(item) for item in reader.outline if not isinstance(item, list)]
    text = "".join(page.extract_text() for page in reader.pages[: starts[0]])
    assert "Contents" in text
    listed = [(int(n), int(page)) for n, page in re.findall(r"Passage (\d+)\n ?(\d+)\n", text)]
    assert listed == [(n, page + 1) for n, page in enumerate(starts)]
    assert pdf.export(publication, tmp_path / "again").read_bytes() == path.read_bytes()


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
    assert compare(publication, pdf.read_back(path)) == []
    assert pdf.check(path) == []


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


def _serif_family(folder: Path) -> str:
    """A complete family, "Briefkit Serif", made of copies of DejaVu Serif (fonts-dejavu-core has
    its regular and bold faces only; they stand in for italic and bold italic)."""
    found = {p.name: p for root in FONT_DIRS if root.is_dir() for p in root.rglob("DejaVuSerif*.ttf")}
    folder.mkdir()
    for face, source in [("", "DejaVuSerif"), ("-Bold", "DejaVuSerif-Bold"), ("-Italic", "DejaVuSerif"),
                         ("-BoldItalic", "DejaVuSerif-Bold")]:  # fmt: skip
        shutil.copy(found[f"{source}.ttf"], folder / f"BriefkitSerif{face}.ttf")
    return "Briefkit Serif"


def test_colours_font_and_logo_follow_theme(seed: Publication, tmp_path: Path) -> None:
    logo = tmp_path / "logo.png"
    PILImage.new("RGB", (240, 80), (10, 120, 60)).save(logo)
    font = _serif_family(tmp_path / "fonts")
    theme = Theme(font=font, primary_color="#0A7A3C", accent_color="#123456", logo=logo)
    publication = dataclasses.replace(seed, theme=theme)
    # BRIEFKIT_FONT_DIRS is read when briefkit starts, so the export runs in a process of its own
    (tmp_path / "publication.pickle").write_bytes(pickle.dumps(publication))
    export = (
        "import pickle, sys; from pathlib import Path; from exporters import pdf; "
        "print(pdf.export(pickle.loads(Path(sys.argv[1]).read_bytes()), Path(sys.argv[2])))"
    )
    done = subprocess.run(
        [sys.executable, "-c", export, str(tmp_path / "publication.pickle"), str(tmp_path / "out")],
        env={**os.environ, "BRIEFKIT_FONT_DIRS": str(tmp_path / "fonts")}, cwd=ROOT, capture_output=True, text=True,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    path = Path(done.stdout.strip())
    page = PdfReader(path).pages[0]
    content = page.get_contents().get_data()
    assert b".039216 .478431 .235294 rg" in content  # primary #0A7A3C on headings
    assert b".070588 .203922 .337255 rg" in content  # accent #123456 on the classification
    fonts = {str(f.get_object()["/BaseFont"]) for f in page["/Resources"]["/Font"].values()}
    assert any("DejaVuSerif" in name for name in fonts) and not any("DejaVuSans-" in name for name in fonts)
    images = [x.get_object() for x in page["/Resources"]["/XObject"].values() if x.get_object()["/Subtype"] == "/Image"]
    assert [(im["/Width"], im["/Height"]) for im in images] == [(240, 80)]
    assert compare(publication, pdf.read_back(path)) == []


def test_no_summaries_means_no_executive_summary(seed: Publication, tmp_path: Path) -> None:
    publication = dataclasses.replace(seed, passages=tuple(dataclasses.replace(p, summary="") for p in seed.passages))
    text = PdfReader(pdf.export(publication, tmp_path)).pages[0].extract_text()
    assert "Executive summary" not in text
    with_summaries = PdfReader(pdf.export(seed, tmp_path / "b")).pages[0].extract_text()
    assert "Executive summary" in with_summaries


def test_text_beyond_the_basic_plane_is_extracted_exactly(seed_pdf: tuple[Publication, Path]) -> None:
    """The ToUnicode map gives characters beyond U+FFFF as UTF-16 surrogate pairs, so other
    readers get them too (reportlab alone writes an odd-length hex string for them)."""
    _, path = seed_pdf
    text = "".join(page.extract_text() for page in PdfReader(path).pages)
    assert "😀" in text and "𝄞" in text and "\ufffd" not in text
    if shutil.which("pdftotext"):  # poppler, where installed
        assert "𝄞" in subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True).stdout


def test_exports_in_parallel_threads_are_those_made_one_at_a_time(seed: Publication, tmp_path: Path) -> None:
    """Fixes are applied per export; two threads exporting at once must not undo each other's."""
    publications = [rich(seed), dataclasses.replace(seed, theme=Theme(page_size="Letter"))]
    alone = [pdf.export(p, tmp_path / f"alone-{n}").read_bytes() for n, p in enumerate(publications)]
    for round_ in range(3):
        folders = [tmp_path / f"together-{round_}-{n}" for n in range(2)]
        with ThreadPoolExecutor(2) as pool:
            paths = list(pool.map(pdf.export, publications, folders))
        assert [path.read_bytes() for path in paths] == alone


def test_a_long_title_is_exported_in_time(seed: Publication, tmp_path: Path) -> None:
    """A title of many pages breaks into lines once, and the running footer cuts it once,
    without measuring every shorter and shorter copy of it on every page."""
    title = "A title that goes on and on. " * 4000  # 116,000 characters, one line of source
    publication = dataclasses.replace(seed, title=title)
    start = time.perf_counter()
    path = pdf.export(publication, tmp_path)
    assert time.perf_counter() - start < 20
    footer = PdfReader(path).pages[-1].extract_text()
    assert "A title that goes on" in footer and "\u2026" in footer


def test_the_executive_summary_lists_every_summary_in_order(seed: Publication, tmp_path: Path) -> None:
    """Many passages: the executive summary, over more than a page, give each summary once, in order."""
    passages = tuple(
        dataclasses.replace(seed.passages[0], id=f"p-{n}", title=f"Passage {n}", summary=f"Summary number {n} here.")
        for n in range(120)
    )
    reader = PdfReader(pdf.export(dataclasses.replace(seed, passages=passages), tmp_path))
    first_passage_page = reader.get_destination_page_number(reader.outline[0])
    assert first_passage_page >= 2
    text = squash("".join(page.extract_text() for page in reader.pages[: first_passage_page + 1]))
    found = [text.find(squash(p.summary)) for p in passages]
    assert -1 not in found and found == sorted(found)


def _sized_texts(page: PageObject) -> list[tuple[float, float, str]]:
    """(font size, baseline, text) of each text pypdf finds on ``page``, in drawing order."""
    found: list[tuple[float, float, str]] = []

    def visit(text: str, cm: list[float], tm: list[float], font: object, size: float) -> None:
        matrix = mult(tm, cm)
        if text.strip():
            found.append((round(size * abs(matrix[3]), 2), matrix[5], text))

    page.extract_text(visitor_text=visit)
    return found


def test_headings_never_end_a_page(seed: Publication, tmp_path: Path) -> None:
    """Over many page breaks, no page ends with a heading and every outline entry points
    at the page its heading is drawn on."""
    passages = tuple(dataclasses.replace(p, id=f"{p.id}-{n}") for n in range(4) for p in rich(seed).passages)
    publication = dataclasses.replace(seed, passages=passages)
    path = pdf.export(publication, tmp_path)
    reader = PdfReader(path)
    pages = [_sized_texts(page) for page in reader.pages]
    assert len(pages) > 8
    body_size = 10  # headings are larger
    for number, texts in enumerate(pages[:-1], 1):
        assert texts[-1][0] <= body_size, f"page {number} ends with {texts[-1][2]!r}"
    top = [item for item in reader.outline if not isinstance(item, list)]  # sections are nested
    assert len(top) == len(passages)
    for item, passage in zip(top, passages, strict=True):
        texts = pages[reader.get_destination_page_number(item)]
        heading = next(text for size, y, text in texts if size > body_size and y <= float(item.top))
        assert squash(passage.title).startswith(squash(heading))


@settings(max_examples=30, deadline=None, suppress_health_check=GENERATION_CHECKS)
@given(
    children=inlines,
    pages=st.floats(1.2, 3.0),
    where=st.sampled_from(["paragraph", "list", "quote"]),
    wide_first=st.booleans(),
)
# a word broken at its hyphen whose rest is wider than a line: broken again to fit (lines_within)
@example(children=(Text("a-" + "b" * 300 + " "),), pages=1.5, where="paragraph", wide_first=False)
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
    reportlab splits into pieces) and wherever it is (a paragraph, a list item, a quote).
    The export with and without that fix (the paragraph class's line breaking put back to
    reportlab's, as paragraphs.lines_within calls it, so the lines carried over are not used)
    are compared as black boxes."""
    length = len(" ".join(block_texts((Para(children),))))
    wide = (Text("w" * 300 + " "),) if wide_first else ()  # a word reportlab splits, then the rest
    long = Para(wide + children * max(1, round(pages * 4500 / max(length, 1))))  # about 4,500 characters a page
    block = {
        "paragraph": long,
        "list": ListBlock(False, 1, ((long,), (Para((Text("short"),)),))),
        "quote": BlockQuote((long,)),
    }[where]
    # in a language pyphen has no dictionary for: reportlab hyphenates a paragraph's rest anew
    # differently, so a hyphenated paragraph keeps its lines by design (test_pdf_hyphenation.py)
    passage = dataclasses.replace(seed.passages[0], blocks=(block,))
    publication = dataclasses.replace(seed, language="ja", passages=(passage,))
    carried = pdf.export(publication, tmp_path_factory.mktemp("carried")).read_bytes()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(blocks.Paragraph, "breakLines", paragraphs.lines_within)
        afresh = pdf.export(publication, tmp_path_factory.mktemp("afresh")).read_bytes()
    assert carried == afresh


def test_a_list_item_one_line_longer_than_a_page_still_splits(seed: Publication, tmp_path: Path) -> None:
    """reportlab will not leave one line alone on the next page, so an item one line longer
    than a page fitted on no page once it was pushed to the top of one, and the export stopped
    (LayoutError). Items of about a page, after paragraphs of every length up to a page, meet
    every position on a page; each must be exported and read back whole."""
    passages = tuple(
        dataclasses.replace(
            seed.passages[0],
            id=f"long-item-{n}",
            blocks=(
                Para((Text("line " * 18 * n),)),  # about n lines
                ListBlock(False, 1, ((Para((Text(f"item{n} " + "word " * (890 + 6 * (n % 12))),)),),)),
            ),
        )
        for n in range(52)
    )
    publication = dataclasses.replace(seed, passages=passages)
    path = pdf.export(publication, tmp_path)
    assert compare(publication, pdf.read_back(path)) == []


# ---- tables, footnotes, figures --------------------------------------------------------


def test_briefing_table_footnotes_and_figure(seed: Publication, tmp_path: Path) -> None:
    publication = briefing(seed, tmp_path / "source")
    path = pdf.export(publication, tmp_path)
    verify(publication, registry.get("pdf"), path)  # cells, notes, alt text and caption read back, fonts embedded
    body = pdf.read_back(path)[1][1]
    assert "Figure 1: Pledges by donor, 2023-2024" in body and "Bar chart of military aid" in body
    assert body.endswith("2 Ministry of Defence of Ukraine, statement of 12 January 2025.")
    reader = PdfReader(path)
    images = [o for p in reader.pages for o in p["/Resources"].get("/XObject", {}).values()]
    assert [o.get_object()["/Subtype"] for o in images].count("/Image") == 1  # the chart; the seed has no logo
    links = [a.get_object() for p in reader.pages for a in p.get("/Annots", [])]
    summaries = sum(1 for p in publication.passages if p.summary)  # each title in the summary links to its passage,
    contents = len(publication.passages)  # each line of the contents (title and page number) too,
    # and each note reference to its note, each note's number back to its first reference
    assert sum("/Dest" in a for a in links) == 3 + 2 + summaries + contents
    again = tmp_path / "again"
    again.mkdir()
    assert pdf.export(publication, again).read_bytes() == path.read_bytes()


def test_a_notes_number_links_back_to_its_first_reference(seed: Publication, tmp_path: Path) -> None:
    filler = "\n\n".join("Filler text that pushes the notes down the pages. " * 12 for _ in range(12))
    markdown = f"A first claim.[^far] A second.[^near]\n\n{filler}\n\nCited again.[^far]\n\n"
    body = parse_body(markdown + "[^far]: The far source.\n[^near]: The near source.\n", Path("x.md"), 1)
    passage = dataclasses.replace(seed.passages[0], blocks=body.blocks, notes=body.notes)
    publication = dataclasses.replace(seed, passages=(passage,))
    path = pdf.export(publication, tmp_path)
    verify(publication, registry.get("pdf"), path)
    reader = PdfReader(path)
    numbers = {page.indirect_reference.idnum: n for n, page in enumerate(reader.pages)}

    def links(page: int) -> list[tuple[int, float, float, list[float]]]:
        """Each internal link on ``page``: the page, x and y it points at, and its own rectangle."""
        found = [a.get_object() for a in reader.pages[page].get("/Annots", [])]
        return [(numbers[a["/Dest"][0].idnum], *a["/Dest"][2:4], a["/Rect"]) for a in found if "/Dest" in a]

    texts = [page.extract_text() for page in reader.pages]
    claim, again, notes = (next(n for n, t in enumerate(texts) if s in t) for s in ("A first", "Cited again", "far s"))
    assert claim < again <= notes  # the second reference to note 1, and the notes, pages after the first references
    references = [rect for target, _, _, rect in links(claim) if target == notes]
    backlinks = [(target, x, y) for target, x, y, _ in links(notes) if target != notes]
    assert len(references) == len(backlinks) == 2
    for (x0, y0, _, y1), (target, x, y) in zip(references, backlinks):  # each note's number: its first reference
        assert target == claim and x == x0 and y0 <= y <= y1 + 2


def test_a_long_table_repeats_its_header_on_every_page_and_reads_once(seed: Publication, tmp_path: Path) -> None:
    rows = "".join(f"| Row {n} | {'many words in a cell that wraps ' * (n % 4 + 1)} | {n} |\n" for n in range(120))
    body = parse_body(f"Intro.\n\n| Name | Text | N |\n|---|---|--:|\n{rows}\nTable: A long one\n", Path("t.md"), 1)
    assert not body.diagnostics
    first = dataclasses.replace(seed.passages[0], blocks=body.blocks)
    publication = dataclasses.replace(seed, passages=(first, *seed.passages[1:]))
    path = pdf.export(publication, tmp_path)
    verify(publication, registry.get("pdf"), path)  # the repeated header rows are artifacts: read once
    with_rows = [t for t in (p.extract_text() for p in PdfReader(path).pages) if re.search(r"Row \d+", t)]
    assert len(with_rows) >= 3 and all("Name" in t and "Text" in t for t in with_rows)


@pytest.mark.parametrize("columns", [1, 2, 10])
def test_the_largest_table_validation_allows_fits_its_rows_on_a_page(
    columns: int, seed: Publication, tmp_path: Path
) -> None:
    cell = "Ш" * (ROW_CHARS // columns)  # a wide letter, unbroken: the most lines a cell can take
    row = "|" + f" {cell} |" * columns + "\n"
    body = parse_body(f"Intro.\n\n{row}|{'---|' * columns}\n{row}{row}", Path("t.md"), 1)
    assert not body.diagnostics
    first = dataclasses.replace(seed.passages[0], blocks=body.blocks)
    publication = dataclasses.replace(
        seed, passages=(first,), theme=dataclasses.replace(seed.theme, page_size="Letter")
    )
    verify(publication, registry.get("pdf"), pdf.export(publication, tmp_path))


def test_no_paragraph_leaves_one_line_alone_at_the_foot_or_head_of_a_page(seed: Publication, tmp_path: Path) -> None:
    paragraphs = [f"P{n}start " + "lorem ipsum dolor sit amet " * (12 + 7 * (n % 5)) + f"P{n}end." for n in range(60)]
    body = parse_body("\n\n".join(paragraphs) + "\n", Path("x.md"), 1)
    publication = dataclasses.replace(seed, passages=(dataclasses.replace(seed.passages[0], blocks=body.blocks),))
    pages = PdfReader(pdf.export(publication, tmp_path)).pages
    assert len(pages) > 5
    for number, page in enumerate(pages):
        lines = [line for line in page.extract_text().split("\n") if re.search(r"lorem|P\d+(start|end)", line)]
        if lines:
            assert not re.search(r"P\d+start", lines[-1]) or "end." in lines[-1], f"an orphan on page {number + 1}"
            assert "end." not in lines[0] or "start" in lines[0], f"a widow on page {number + 1}"


def test_a_url_breaks_after_a_slash(seed: Publication, tmp_path: Path) -> None:
    url = "https://www.example.org/reports/2025/military-assistance/ukraine-support-tracker/annex-tables/donors"
    body = parse_body(f"The annex tables are published at {url} and updated monthly by the institute.\n", Path("x"), 1)
    publication = dataclasses.replace(seed, passages=(dataclasses.replace(seed.passages[0], blocks=body.blocks),))
    path = pdf.export(publication, tmp_path)
    verify(publication, registry.get("pdf"), path)
    lines = pdf.read_back(path)[0][1].split("\n")
    broken = [line for line in lines if "example.org" in line]
    assert broken and broken[0].endswith("/"), lines


def test_a_figure_in_a_list_item_or_a_quote_moves_to_the_next_page_whole(seed: Publication, tmp_path: Path) -> None:
    """A figure that no longer fits on the page moves to the next one with its caption, also in
    a list item or a quote (KeepTogether's frame break failed there: reportlab raised)."""
    root = tmp_path / "source"
    chart_png(root / "figures" / "tall.png", (100, 2000))
    figure = '![A tall chart](figures/tall.png "Tall")'
    markdown = "\n\n".join(["Text.", figure, f"- {figure}", f"> {figure}", f"1. Item.\n\n   {figure}"]) + "\n"
    publication = briefing(seed, root, markdown)
    path = pdf.export(publication, tmp_path)
    verify(publication, registry.get("pdf"), path)
    pages = [page.extract_text() for page in PdfReader(path).pages]
    assert sum(text.count("Tall") for text in pages) == 4


def test_a_paragraph_split_at_the_foot_of_a_page_keeps_the_lines_that_fitted(tmp_path: Path) -> None:
    """Found by hypothesis: a note whose first part, broken again, took more lines than the room
    measured for it (a split word's pieces break differently), and reportlab stopped the export
    ("Splitting error"). The first part keeps the lines that fitted."""
    publication = Publication(
        id="generated",
        title="frzypkluuteagjwidboqfuuugicdcefcebqbuhrgmwzwjhdxgcyrqnehqoruezowh pxfezzfzayeueihngofnudnktcdfavrhknqvtpxqqhtulxaktzrxdyoumzbrymreazgztszm tadfhwrvtrtmeupvpexwzslyzkpkhstwbemsawmzlgotbjpcwadyrohtjmsotihcdnnamitmdpricwzyfdaluxcqgbsgnhzjotuvavmslcyuwpoldmo hgrztlgbkdodgvdarnwpblwpckxcmzhbvlajutfnqqcboytezbxfckrvqskccvxsmgcyfmvmyyildpuotlczjuugbpefofjmmswvvitmimcqoynbponlcjtlwnofteemnusgsckjawkkqmfi",
        subtitle="",
        language="en",
        organisation="0",
        authors=(),
        edition=dt.date(2056, 10, 12),
        classification="",
        description="",
        passages=(
            Passage(
                id="passage-0",
                title="0",
                summary="",
                tags=(),
                blocks=(
                    Heading(
                        level=2,
                        children=(
                            Text(
                                "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                            ),
                        ),
                    ),
                    Para(
                        (
                            Text(
                                "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
                            ),
                            Text("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"),
                            Text(" see"),
                            NoteRef(number=1),
                        )
                    ),
                    Table(header=((Text("cell"), NoteRef(number=1)),), rows=(), aligns=("",), caption=()),
                ),
                file=Path("passages/000.md"),
                body_line=5,
                provisional_title=False,
                notes=(
                    Footnote(
                        number=1,
                        children=(
                            Emph((Text("0"),)),
                            Text(
                                "0 ushmrelzfulyjofiqvsvmzlntxlefwxathzmicewzeoolwrkkrfjtqrtlnisnbaavfmyovqjjzpskedmopgavjtpbuhqtlkngef 0 aabbbbbbcccddddddeeeefffffffghhhhiiiijjkkkkkkllllmmmmnnoooooooooaabbbbbccceeeeeeeeffffgghhhhhiijjjjbjjkkklllllllmmmmmmnnnnooooaaaaaaaaaqqqqqqqqrrrrrrraaaaattuuuuuuuuuuvvvvwwwwwwxxxxxxxxxxyyyyyyyyyyzzz"
                            ),
                            Text("0"),
                            Text(
                                "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                            ),
                        ),
                    ),
                ),
            ),
        ),
        source_dir=Path("generated"),
        content_hash="0000000000000000000000000000000000000000000000000000000000000000",
        theme=Theme(
            font="DejaVu Sans",
            primary_color="#1F3A5F",
            accent_color="#B22222",
            page_size="A4",
            logo=None,
            reference_docx=None,
            typography="smart",
        ),
        schedule="",
        formats=(),
        status="final",
        strict=False,
        timezone="",
        tags=(),
        extra=(),
    )
    path = pdf.export(publication, tmp_path)
    assert compare(publication, pdf.read_back(path)) == [] and pdf.check(path) == []
