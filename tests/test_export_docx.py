"""The Word briefing pack: round trip through python-docx, fields, links, styles, bytes, theme."""

from __future__ import annotations

import dataclasses
import datetime as dt
import zipfile
from pathlib import Path

import docx
import pytest
from docx.document import Document
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.oxml.ns import qn
from docx.shared import RGBColor
from hypothesis import given, settings
from lxml import etree
from PIL import Image as PILImage

from briefkit.model import Publication
from exporters import docx as docx_exporter
from exporters.packaging import FIXED_ZIP_DATE
from exporters.registry import get
from exporters.verify import compare, verify
from tests.samples import SKIPPING_BODY, briefing, rich
from tests.strategies import GENERATION_CHECKS, publications


def with_theme(publication: Publication, **changes: object) -> Publication:
    return dataclasses.replace(publication, theme=dataclasses.replace(publication.theme, **changes))


@pytest.fixture(scope="module")
def rich_docx(seed: Publication, tmp_path_factory: pytest.TempPathFactory) -> tuple[Publication, Path, Document]:
    publication = rich(seed)
    path = docx_exporter.export(publication, tmp_path_factory.mktemp("docx"))
    return publication, path, docx.Document(str(path))


def paragraphs_with_style(document: Document, name: str) -> list[str]:
    return [p.text for p in document.paragraphs if p.style.name == name]


def style_color(document: Document, name: str) -> RGBColor | None:
    return document.styles[name].font.color.rgb


# ---- round trips ----------------------------------------------------------------------


def test_seed_round_trip(seed: Publication, tmp_path: Path) -> None:
    path = docx_exporter.export(seed, tmp_path)
    assert path.name == f"{seed.id}-briefing-pack.docx"
    assert compare(seed, docx_exporter.read_back(path)) == []
    assert docx_exporter.check(path) == []


def test_rich_round_trip(rich_docx: tuple[Publication, Path, Document]) -> None:
    publication, path, _ = rich_docx
    read = docx_exporter.read_back(path)
    assert compare(publication, read) == []
    title, body = read[1]
    assert title == "Ελληνικά & Кирилиця <title> 😀"
    assert "Η γρήγορη καφέ αλεπού" in body and "Швидка бура лисиця" in body and "😀 中文 𝄞" in body
    assert (
        "<b>not bold</b> & \"quotes\" 'single' & ]]> %s {x} (round (nested)) brackets, a back\\slash." in body
    )  # Markdown decodes &amp;
    assert "link" in body  # hyperlink text is part of the paragraph text
    assert "3. not a number: a bullet" in body and "5." not in body  # list numbers are numbering, not text


def test_front_matter_is_not_taken_for_passages(rich_docx: tuple[Publication, Path, Document]) -> None:
    publication, path, document = rich_docx
    titles = [title for title, _ in docx_exporter.read_back(path)]
    assert titles == [p.title for p in publication.passages]
    # the summary heading is a Heading 1 too, but it carries no passage bookmark
    assert paragraphs_with_style(document, "Heading 1")[0] == "Executive summary"


# ---- structure --------------------------------------------------------------------------


def test_cover_page(rich_docx: tuple[Publication, Path, Document]) -> None:
    publication, _, document = rich_docx
    cover = [(p.style.name, p.text) for p in document.paragraphs[:5]]
    assert cover == [
        ("Classification", publication.classification),
        ("Title", publication.title),
        ("Subtitle", publication.subtitle),
        ("Author", publication.organisation),  # the only author too: named once
        ("Date", publication.edition_date),
    ]


def test_table_of_contents_is_a_filled_toc_field(rich_docx: tuple[Publication, Path, Document]) -> None:
    publication, _, document = rich_docx
    body = document.element.body
    instructions = [t.text for t in body.iter(qn("w:instrText"))]
    assert instructions[0].strip() == r'TOC \o "1-1" \h \z \u'
    kinds = [c.get(qn("w:fldCharType")) for c in body.iter(qn("w:fldChar"))]
    assert kinds[:3] == ["begin", "separate", "end"]
    # the entries sit between separate and end, each linking to its heading's bookmark
    entries = [p for p in document.paragraphs if p.style.name == "toc 1"]
    assert [p.text for p in entries] == ["Executive summary", *(p.title for p in publication.passages)]
    anchors = [link.get(qn("w:anchor")) for p in entries for link in p._p.iter(qn("w:hyperlink"))]
    bookmarks = {b.get(qn("w:name")): p.text for p in document.paragraphs for b in p._p.iter(qn("w:bookmarkStart"))}
    assert [bookmarks[a] for a in anchors] == [p.text for p in entries]
    assert anchors[1:] == [f"passage_{n}" for n in range(1, len(publication.passages) + 1)]
    update = document.settings.element.find(qn("w:updateFields"))
    assert update is not None and update.get(qn("w:val")) == "true"


def test_executive_summary_titles_link_to_their_passages(rich_docx: tuple[Publication, Path, Document]) -> None:
    publication, _, document = rich_docx
    headings = [(p.style.name, p.text) for p in document.paragraphs]
    start = headings.index(("Heading 1", "Executive summary")) + 1
    pairs = document.paragraphs[start : start + 2 * len(publication.passages) + 1]
    assert [(p.style.name, p.text) for p in pairs[:-1]] == [
        pair for p in publication.passages for pair in (("Heading 2", p.title), ("Normal", p.summary))
    ]
    anchors = [link.get(qn("w:anchor")) for p in pairs[:-1:2] for link in p._p.iter(qn("w:hyperlink"))]
    assert anchors == [f"passage_{n}" for n in range(1, len(publication.passages) + 1)]
    assert pairs[-1].style.name == "Heading 1"  # the first passage follows


def _first(document: Document, text: str):
    return next(p for p in document.paragraphs if p.text == text)


def test_passage_body_uses_named_styles_and_direct_emphasis(rich_docx: tuple[Publication, Path, Document]) -> None:
    publication, _, document = rich_docx
    intro = next(p for p in document.paragraphs if p.text.startswith("Intro with"))
    runs = {r.text: r for r in intro.runs}
    assert runs["emphasis"].italic and runs["strong"].bold
    assert runs["code <x> & y"].style.name == "Verbatim Char"
    link = intro.hyperlinks[0]
    assert link.text == "link" and link.url == "https://example.org/?a=1&b=2"
    assert link.runs[0].style.name == "Hyperlink"
    rel = document.part.rels[link._hyperlink.rId]
    assert rel.reltype == RT.HYPERLINK and rel.is_external
    summary_titles = len(publication.passages)  # the executive summary's come first
    assert paragraphs_with_style(document, "Heading 2")[summary_titles:] == ["Second level"]
    assert paragraphs_with_style(document, "Heading 3") == ["Third level"]
    assert "A quoted line with bold text." in paragraphs_with_style(document, "Quote")


def test_a_heading_in_a_quote_is_indented_as_the_quote(seed: Publication, tmp_path: Path) -> None:
    publication = briefing(seed, tmp_path / "source", SKIPPING_BODY)
    document = docx.Document(str(get("docx").export(publication, tmp_path / "out")))
    quote = document.styles["Quote"].paragraph_format.left_indent
    heading = _first(document, "Quoted heading")
    assert heading.style.name == "Heading 2" and quote and heading.paragraph_format.left_indent == quote


def test_lists_nest_and_numbering_restarts(rich_docx: tuple[Publication, Path, Document]) -> None:
    _, _, document = rich_docx
    levels = {}
    for p in document.paragraphs:
        num_pr = p._p.pPr.numPr if p._p.pPr is not None else None
        if num_pr is not None:
            levels[p.text] = (p.style.name, num_pr.ilvl.val, num_pr.numId.val)
    assert levels["first bullet"][:2] == ("List Bullet", 0)
    assert levels["nested one"][:2] == ("List Number", 1)
    assert levels["five"][:2] == ("List Number", 0)
    assert levels["nested one"][2] != levels["five"][2]  # each ordered list counts on its own
    numbering = document.part.numbering_part.element
    five = numbering.xpath(f'w:num[@w:numId="{levels["five"][2]}"]/w:lvlOverride/w:startOverride/@w:val')
    assert five == ["5"]
    continuation = _first(document, "a second paragraph in the third item")
    assert continuation.style.name == "List Continue" and continuation._p.pPr.numPr is None


def test_passage_headings_are_bookmarked_heading_1(rich_docx: tuple[Publication, Path, Document]) -> None:
    publication, _, document = rich_docx
    marked = [
        (p.style.name, p.text, b.get(qn("w:name")))
        for p in document.paragraphs
        for b in p._p.iter(qn("w:bookmarkStart"))
        if b.get(qn("w:name")).startswith("passage_")
    ]
    assert marked == [("Heading 1", p.title, f"passage_{n}") for n, p in enumerate(publication.passages, 1)]


def test_header_footer_and_page_numbers(rich_docx: tuple[Publication, Path, Document]) -> None:
    publication, _, document = rich_docx
    section = document.sections[-1]
    assert section.different_first_page_header_footer  # the cover has no running header
    header = section.header.paragraphs[0].text
    assert publication.classification in header and publication.title in header
    footer = section.footer.paragraphs[0]
    instructions = [t.text.strip() for t in footer._p.iter(qn("w:instrText"))]
    assert instructions == ["PAGE", "NUMPAGES"]
    assert footer.text == f"{publication.classification}    Page  of "  # the numbers are field results Word fills in
    assert section.first_page_footer.paragraphs[0].text == publication.classification


def test_core_properties_and_no_template_leftovers(rich_docx: tuple[Publication, Path, Document]) -> None:
    publication, path, document = rich_docx
    props = document.core_properties
    midnight = dt.datetime.combine(publication.edition, dt.time(), tzinfo=dt.UTC)
    assert props.title == publication.title
    assert props.subject == publication.subtitle
    assert props.author == publication.author
    assert props.language == publication.language
    assert props.keywords == ", ".join(publication.keywords) and "nato" in props.keywords
    assert props.created == midnight and props.modified == midnight
    assert props.last_modified_by == "briefkit" and props.revision == 1
    with zipfile.ZipFile(path) as zf:
        assert not any("thumbnail" in name for name in zf.namelist())
        for name in zf.namelist():
            assert b"python-docx" not in zf.read(name), name


# ---- reproducibility and arbitrary input ----------------------------------------------


def test_app_properties_name_briefkit_and_no_template_counts(seed: Publication, tmp_path: Path) -> None:
    path = docx_exporter.export(seed, tmp_path)
    with zipfile.ZipFile(path) as zf:
        app = etree.fromstring(zf.read("docProps/app.xml"))
    values = {etree.QName(child).localname: child.text for child in app}
    assert values == {"Application": "briefkit", "DocSecurity": "0", "Company": seed.organisation}
    assert docx_exporter.export(seed, tmp_path / "again").read_bytes() == path.read_bytes()


def test_byte_reproducible(seed: Publication, tmp_path: Path) -> None:
    first = docx_exporter.export(rich(seed), tmp_path / "a")
    second = docx_exporter.export(rich(seed), tmp_path / "b")
    assert first.read_bytes() == second.read_bytes()
    with zipfile.ZipFile(first) as zf:
        assert {info.date_time for info in zf.infolist()} == {FIXED_ZIP_DATE}
    assert [p.name for p in (tmp_path / "a").iterdir()] == [first.name]  # no temporary files left


@settings(max_examples=15, deadline=None, suppress_health_check=GENERATION_CHECKS)
@given(publication=publications())
def test_any_valid_publication_exports_and_verifies(
    publication: Publication, tmp_path_factory: pytest.TempPathFactory
) -> None:
    path = docx_exporter.export(publication, tmp_path_factory.mktemp("any"))
    verify(publication, get("docx"), path)


def test_markup_characters_print_as_written(seed: Publication, tmp_path: Path) -> None:
    markup = "<b>&amp; \"quoted\" 'single' ]]> & < >"
    passage = dataclasses.replace(seed.passages[0], title=markup, summary=markup)
    publication = dataclasses.replace(
        seed, title=markup, subtitle=markup, organisation=markup, authors=(markup,), classification=markup,
        passages=(passage,),
    )  # fmt: skip
    path = docx_exporter.export(publication, tmp_path)
    verify(publication, get("docx"), path)
    document = docx.Document(str(path))
    assert [p.text for p in document.paragraphs[:4]] == [markup] * 4
    assert document.core_properties.title == markup
    assert document.sections[-1].header.paragraphs[0].text.count(markup) == 2
    assert docx_exporter.read_back(path)[0][0] == markup


def test_empty_optional_fields_and_no_summaries(seed: Publication, tmp_path: Path) -> None:
    passages = tuple(dataclasses.replace(p, summary="", tags=()) for p in seed.passages)
    publication = dataclasses.replace(
        seed, subtitle="", organisation="", authors=(), classification="", description="", passages=passages
    )
    path = docx_exporter.export(publication, tmp_path)
    verify(publication, get("docx"), path)
    document = docx.Document(str(path))
    assert "Executive summary" not in [p.text for p in document.paragraphs]
    assert [p.style.name for p in document.paragraphs[:2]] == ["Title", "Date"]
    assert document.sections[-1].header.paragraphs[0].text == publication.title


def test_check_finds_a_document_without_fields(tmp_path: Path) -> None:
    path = tmp_path / "plain.docx"
    plain = docx.Document()
    plain.add_paragraph("no fields here")
    plain.save(str(path))
    problems = docx_exporter.check(path)
    assert any("table of contents" in p for p in problems) and any("PAGE" in p for p in problems)


def test_check_finds_a_footnote_reference_without_its_footnote(seed: Publication, tmp_path: Path) -> None:
    path = docx_exporter.export(briefing(seed, tmp_path / "source"), tmp_path)
    with zipfile.ZipFile(path) as original, zipfile.ZipFile(tmp_path / "broken.docx", "w") as broken:
        for entry in original.infolist():  # the same package, its notes gone
            empty = b'<w:footnotes xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"/>'
            broken.writestr(entry, empty if entry.filename == "word/footnotes.xml" else original.read(entry))
    problems = docx_exporter.check(tmp_path / "broken.docx")
    assert problems == ["footnote reference 1 has no footnote", "footnote reference 2 has no footnote"]


# ---- theme --------------------------------------------------------------------------------


@pytest.mark.parametrize(("size", "twips"), [("A4", (11906, 16838)), ("Letter", (12240, 15840))])
def test_page_size_follows_theme(seed: Publication, tmp_path: Path, size: str, twips: tuple[int, int]) -> None:
    path = docx_exporter.export(with_theme(seed, page_size=size), tmp_path)
    section = docx.Document(str(path)).sections[-1]
    assert (section.page_width.twips, section.page_height.twips) == twips


def test_theme_font_and_colours_on_default_styles(seed: Publication, tmp_path: Path) -> None:
    publication = with_theme(seed, font="DejaVu Serif", primary_color="#123456", accent_color="#ABCDEF")
    document = docx.Document(str(docx_exporter.export(publication, tmp_path)))
    fonts = document.styles.element.find(f"{qn('w:docDefaults')}/{qn('w:rPrDefault')}/{qn('w:rPr')}/{qn('w:rFonts')}")
    assert {fonts.get(qn(f"w:{slot}")) for slot in ("ascii", "hAnsi", "eastAsia", "cs")} == {"DejaVu Serif"}
    for name in ("Title", "Heading 1", "Heading 2", "Heading 3", "Hyperlink"):
        assert style_color(document, name) == RGBColor.from_string("123456"), name
    assert style_color(document, "Classification") == RGBColor.from_string("ABCDEF")
    header_marking = document.sections[-1].header.paragraphs[0].runs[0]
    assert header_marking.text == seed.classification and header_marking.font.color.rgb == RGBColor.from_string(
        "ABCDEF"
    )


def test_logo_on_cover(seed: Publication, tmp_path: Path) -> None:
    logo = tmp_path / "logo.png"
    PILImage.new("RGB", (400, 100), (200, 30, 30)).save(logo)
    path = docx_exporter.export(with_theme(seed, logo=logo), tmp_path / "out")
    verify(seed, get("docx"), path)
    document = docx.Document(str(path))
    (shape,) = document.inline_shapes
    assert shape.width <= docx_exporter.LOGO_BOX[0] and shape.height <= docx_exporter.LOGO_BOX[1]
    assert abs(shape.width / shape.height - 4) < 0.01  # proportions kept
    title_index = next(i for i, p in enumerate(document.paragraphs) if p.style.name == "Title")
    assert document.paragraphs[title_index - 1]._p.xpath(".//pic:pic")  # the logo stands above the title


def test_reference_docx_styles_win(seed: Publication, tmp_path: Path) -> None:
    reference = docx.Document()
    reference.styles["Heading 1"].font.color.rgb = RGBColor.from_string("00AA00")
    reference.styles["Normal"].font.name = "DejaVu Serif"
    reference.add_paragraph("text of the reference document")
    reference_path = tmp_path / "reference.docx"
    reference.save(str(reference_path))

    publication = rich(with_theme(seed, reference_docx=reference_path))
    path = docx_exporter.export(publication, tmp_path / "out")
    verify(publication, get("docx"), path)
    document = docx.Document(str(path))
    assert style_color(document, "Heading 1") == RGBColor.from_string("00AA00")
    assert document.styles["Normal"].font.name == "DejaVu Serif"
    assert "text of the reference document" not in "\n".join(p.text for p in document.paragraphs)
    # styles the reference lacks are added, so every construct still has a named style
    assert document.styles["Verbatim Char"] is not None and document.styles["toc 1"] is not None


def test_reference_docx_without_numbering_part(seed: Publication, tmp_path: Path) -> None:
    reference = docx.Document()
    rels = reference.part.rels
    del rels[next(rid for rid, rel in rels.items() if rel.reltype == RT.NUMBERING)]
    reference_path = tmp_path / "bare.docx"
    reference.save(str(reference_path))
    publication = rich(with_theme(seed, reference_docx=reference_path))
    path = docx_exporter.export(publication, tmp_path / "out")
    verify(publication, get("docx"), path)
    assert docx.Document(str(path)).part.numbering_part.element.xpath("w:num")


# ---- tables, footnotes, figures --------------------------------------------------------


def test_briefing_table_footnotes_and_figure(seed: Publication, tmp_path: Path) -> None:
    publication = briefing(seed, tmp_path / "source")
    path = docx_exporter.export(publication, tmp_path)
    verify(publication, get("docx"), path)  # cells, notes, alt text and caption read back
    document = docx.Document(str(path))
    (table,) = document.tables
    assert [c.text for c in table.rows[0].cells] == ["Donor", "Pledged 2023 (€ bn)", "Pledged 2024 (€ bn)", "Change"]
    assert table._tbl.xpath("w:tr[1]/w:trPr/w:tblHeader") and not table._tbl.xpath("w:tr[2]/w:trPr/w:tblHeader")
    assert table._tbl.xpath("string(w:tblPr/w:tblW/@w:type)") == "pct"  # the width of the text
    assert table.rows[1].cells[1].paragraphs[0]._p.xpath("string(w:pPr/w:jc/@w:val)") == "right"
    caption = table._tbl.getprevious()
    assert caption.xpath("string(w:pPr/w:pStyle/@w:val)") == "Caption"
    root = document.element
    assert root.xpath("//w:footnoteReference/@w:id") == ["1", "2"]  # the second reference to note 1 is a NOTEREF field
    assert "NOTEREF _RefNote1 \\f \\h" in "".join(root.xpath("//w:instrText/text()"))
    with zipfile.ZipFile(path) as zf:
        notes = zf.read("word/footnotes.xml").decode()
        assert 'w:id="-1"' in notes and "Kiel Institute for the World Economy" in notes
        assert zf.read("word/media/image1.png") == (tmp_path / "source/figures/pledges.png").read_bytes()
    doc_pr = root.xpath("//wp:docPr")[0]
    assert doc_pr.get("descr").startswith("Bar chart") and doc_pr.get("name") == "Figure 1"
    assert "Figure 1: Pledges by donor, 2023-2024" in [p.text for p in document.paragraphs]
    again = tmp_path / "again"
    again.mkdir()
    assert docx_exporter.export(publication, again).read_bytes() == path.read_bytes()


def test_reference_docx_footnotes_are_replaced(seed: Publication, tmp_path: Path) -> None:
    reference_path = tmp_path / "reference.docx"
    docx_exporter.export(briefing(seed, tmp_path / "source"), tmp_path)  # a document with footnotes of its own
    (tmp_path / f"{seed.id}-briefing-pack.docx").rename(reference_path)
    publication = briefing(with_theme(seed, reference_docx=reference_path), tmp_path / "source")
    (tmp_path / "out").mkdir()
    path = docx_exporter.export(publication, tmp_path / "out")
    verify(publication, get("docx"), path)
    with zipfile.ZipFile(path) as zf:
        assert zf.read("word/footnotes.xml").count(b"<w:footnote ") == 4  # two separators, two notes


def test_tables_one_after_another_stay_apart(seed: Publication, tmp_path: Path) -> None:
    table = "| A | B |\n|---|---|\n| 1 | 2 |\n"
    publication = briefing(seed, tmp_path / "source", f"Two tables.\n\n{table}\n{table}")
    path = docx_exporter.export(publication, tmp_path)
    verify(publication, get("docx"), path)
    tables = docx.Document(str(path)).tables
    assert len(tables) == 2 and tables[0]._tbl.getnext().tag == qn("w:p")
