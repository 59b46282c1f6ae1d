"""The EPUB reader: read back with ebooklib and lxml, validated by W3C EPUBCheck."""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import re
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from lxml import etree
from PIL import Image

from briefkit.markdown import parse_body
from briefkit.model import (
    Code,
    Link,
    Paragraph,
    Publication,
    Text,
    Theme,
    block_texts,
    plain_text,
)
from exporters import epubcheck, registry
from exporters.epub import (
    DOCUMENT_TEXT_BYTES,
    OPS,
    XHTML,
    book_identifier,
    passage_hrefs,
)
from exporters.epub import documents as epub_documents
from exporters.packaging import FIXED_ZIP_DATE
from exporters.verify import compare, verify
from tests.samples import briefing
from tests.strategies import GENERATION_CHECKS, publications

EXPORTER = registry.get("epub")
NS = {"h": XHTML, "epub": OPS, "opf": "http://www.idpf.org/2007/opf",
      "dc": "http://purl.org/dc/elements/1.1/", "ncx": "http://www.daisy.org/z3986/2005/ncx/"}  # fmt: skip
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"

RICH_MARKDOWN = """Intro with *emphasis*, **strong words**, `code <x> & y` and a [link](https://example.org/?a=1&b=2).

## A second-level heading

- First bullet
- Second bullet
  - Nested bullet
    1. Deep ordered item

### A third-level heading

3. Third numbered
4. Fourth numbered

> A quoted statement with **strong** text.
>
> > A nested quote.
"""


def _xml(path: Path, name: str) -> etree._Element:
    with zipfile.ZipFile(path) as zf:
        return etree.fromstring(zf.read(f"EPUB/{name}"))


def _export(publication: Publication, dest: Path) -> Path:
    path = EXPORTER.export(publication, dest)
    assert path == dest / f"{publication.id}-reader.epub"
    return path


def _with_body(publication: Publication, markdown: str) -> Publication:
    body = parse_body(markdown, Path("rich.md"), 1)
    blocks, diagnostics = body.blocks, body.diagnostics
    assert not diagnostics
    first = dataclasses.replace(publication.passages[0], blocks=blocks)
    return dataclasses.replace(publication, passages=(first, *publication.passages[1:]))


@pytest.fixture(scope="module")
def seed_epub(seed: Publication, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _export(seed, tmp_path_factory.mktemp("epub"))


# ---- seed round trip and structure ------------------------------------------------------


@pytest.mark.slow
def test_seed_round_trip_and_epubcheck_clean(seed: Publication, seed_epub: Path) -> None:
    assert compare(seed, EXPORTER.read_back(seed_epub)) == []
    assert epubcheck.check(seed_epub) == []  # 0 errors, 0 warnings


def _document_of(publication: Publication, index: int) -> str:
    return passage_hrefs(epub_documents(publication))[index].split("#")[0]


def test_seed_documents(seed: Publication, seed_epub: Path) -> None:
    opf = _xml(seed_epub, "content.opf")
    spine = opf.xpath("opf:spine/opf:itemref/@idref", namespaces=NS)
    assert spine == ["titlepage", "nav", "summary", "passages-001"]  # ten short passages share one document
    for passage, href in zip(seed.passages, passage_hrefs(epub_documents(seed)), strict=True):
        name, fragment = href.split("#")
        (section,) = _xml(seed_epub, name).xpath(f"h:body/h:section[@id='{fragment}']", namespaces=NS)
        assert section.get(f"{{{OPS}}}type") == "chapter" and section.get("class") == "passage"
        assert section[0].tag == f"{{{XHTML}}}h1" and section[0].text == passage.title
    page_title = _xml(seed_epub, "passages-001.xhtml").findtext(f"{{{XHTML}}}head/{{{XHTML}}}title")
    assert page_title == f"{seed.passages[0].title} – {seed.passages[-1].title}"

    title = _xml(seed_epub, "titlepage.xhtml")
    text = " ".join(title.itertext())
    for part in (seed.title, seed.subtitle, seed.organisation, seed.classification, seed.edition_date):
        assert part in text
    summary = " ".join(_xml(seed_epub, "summary.xhtml").itertext())
    assert all(p.summary in summary for p in seed.passages if p.summary)


def test_nav_and_ncx_have_one_entry_per_passage(seed: Publication, seed_epub: Path) -> None:
    titles = [p.title for p in seed.passages]
    files = passage_hrefs(epub_documents(seed))

    nav = _xml(seed_epub, "nav.xhtml")
    links = nav.xpath("//h:nav[@epub:type='toc']/h:ol/h:li/h:a", namespaces=NS)
    assert [a.get("href") for a in links] == ["summary.xhtml", *files]
    assert [a.text for a in links[1:]] == titles

    ncx = _xml(seed_epub, "toc.ncx")
    points = ncx.xpath("ncx:navMap/ncx:navPoint", namespaces=NS)
    assert [p.find("ncx:content", NS).get("src") for p in points] == ["summary.xhtml", *files]
    assert [p.findtext("ncx:navLabel/ncx:text", namespaces=NS) for p in points[1:]] == titles
    assert ncx.xpath("ncx:head/ncx:meta[@name='dtb:uid']/@content", namespaces=NS) == [book_identifier(seed.id)]
    opf = _xml(seed_epub, "content.opf")
    assert opf.xpath("opf:manifest/opf:item[@properties='nav']/@href", namespaces=NS) == ["nav.xhtml"]
    assert opf.xpath("opf:spine/@toc", namespaces=NS) == ["ncx"]


def test_language_on_package_and_every_document(seed: Publication, seed_epub: Path) -> None:
    opf = _xml(seed_epub, "content.opf")
    assert opf.get(XML_LANG) == seed.language
    assert opf.xpath("opf:metadata/dc:language/text()", namespaces=NS) == [seed.language]
    assert _xml(seed_epub, "toc.ncx").get(XML_LANG) == seed.language
    documents = opf.xpath("opf:manifest/opf:item[@media-type='application/xhtml+xml']/@href", namespaces=NS)
    assert len(documents) == 3 + len(epub_documents(seed))
    for name in documents:
        root = _xml(seed_epub, name)
        assert (root.get("lang"), root.get(XML_LANG)) == (seed.language, seed.language), name


def test_identifier_is_stable_and_per_publication(seed: Publication, seed_epub: Path, tmp_path: Path) -> None:
    def identifier(path: Path) -> str:
        opf = _xml(path, "content.opf")
        (value,) = opf.xpath("opf:metadata/dc:identifier[@id=../../@unique-identifier]/text()", namespaces=NS)
        return value

    assert re.fullmatch(r"urn:uuid:[0-9a-f-]{36}", identifier(seed_epub))
    assert identifier(_export(seed, tmp_path / "again")) == identifier(seed_epub) == book_identifier(seed.id)
    other = dataclasses.replace(seed, id="another-publication")
    assert identifier(_export(other, tmp_path / "other")) != identifier(seed_epub)


def test_metadata_and_accessibility(seed: Publication, seed_epub: Path) -> None:
    metadata = _xml(seed_epub, "content.opf").find("opf:metadata", NS)

    def values(prop: str) -> list[str]:
        return metadata.xpath(f"opf:meta[@property='{prop}']/text()", namespaces=NS)

    assert values("dcterms:modified") == [f"{seed.edition.isoformat()}T00:00:00Z"]
    assert metadata.xpath("dc:title/text()", namespaces=NS) == [seed.title, seed.subtitle]
    assert values("schema:accessMode") == ["textual"]
    assert values("schema:accessModeSufficient") == ["textual"]
    assert {"structuralNavigation", "tableOfContents", "readingOrder"} <= set(values("schema:accessibilityFeature"))
    assert values("schema:accessibilityHazard") == ["none"]
    (summary,) = values("schema:accessibilitySummary")
    # it says what the book is: ten short passages in one document, each in the table of contents
    assert "short passages share a content document" in summary and "one document per passage" not in summary
    spine = [i.get("idref") for i in _xml(seed_epub, "content.opf").find("opf:spine", NS)]
    assert [i for i in spine if i.startswith("passages-")] == ["passages-001"] and len(seed.passages) == 10


@pytest.mark.slow
def test_rich_passage_markup(seed: Publication, tmp_path: Path) -> None:
    publication = _with_body(seed, RICH_MARKDOWN)
    path = _export(publication, tmp_path)
    verify(publication, EXPORTER, path)  # read-back comparison and epubcheck

    section = _xml(path, _document_of(publication, 0)).find("h:body/h:section", NS)

    def texts(xpath: str) -> list[str]:
        return ["".join(e.itertext()) for e in section.xpath(xpath, namespaces=NS)]

    assert texts("h:p/h:em") == ["emphasis"]
    assert texts("h:p/h:strong") == ["strong words"]
    assert texts("h:p/h:code") == ["code <x> & y"]
    assert section.xpath("h:p/h:a/@href", namespaces=NS) == ["https://example.org/?a=1&b=2"]
    assert texts("h:h2") == ["A second-level heading"] and texts("h:h3") == ["A third-level heading"]
    assert texts("h:ul/h:li/h:ul/h:li/h:ol/h:li") == ["Deep ordered item"]
    assert section.xpath("h:ol/@start", namespaces=NS) == ["3"]
    assert texts("h:blockquote/h:blockquote/h:p") == ["A nested quote."]
    # List numbers and bullets come from CSS, never from the text.
    body = EXPORTER.read_back(path)[0][1]
    assert body.split() == " ".join(block_texts(publication.passages[0].blocks)).split()


@pytest.mark.slow
def test_right_to_left_language(seed: Publication, tmp_path: Path) -> None:
    arabic = dataclasses.replace(seed, language="ar")
    path = _export(arabic, tmp_path)
    assert epubcheck.check(path) == []
    assert _xml(path, "content.opf").xpath("opf:spine/@page-progression-direction", namespaces=NS) == ["rtl"]
    for name in ("titlepage.xhtml", "summary.xhtml", _document_of(arabic, 0)):
        root = _xml(path, name)
        assert (root.get("dir"), root.get("lang")) == ("rtl", "ar")
    assert _xml(path, "nav.xhtml").find("h:body", NS).get("dir") == "rtl"


@pytest.mark.slow
def test_passages_share_documents_up_to_a_size(seed: Publication, tmp_path: Path) -> None:
    long_body = (Paragraph((Text("word " * (DOCUMENT_TEXT_BYTES // 5)),)),)  # over the budget alone
    many = [dataclasses.replace(p, id=f"{p.id}-{n}") for n in range(20) for p in seed.passages]
    many.insert(50, dataclasses.replace(seed.passages[0], id="long", blocks=long_body))
    publication = dataclasses.replace(seed, passages=tuple(many))
    groups = epub_documents(publication)
    assert [i for group in groups for i in group] == list(range(len(many)))  # in order, each once
    assert len(groups) > 3 and [50] in groups
    for group in groups:
        text = sum(len(plain_text(publication.passages[i]).encode()) for i in group)
        assert text <= DOCUMENT_TEXT_BYTES or len(group) == 1
    path = _export(publication, tmp_path)
    verify(publication, EXPORTER, path)  # every passage read back, in order; epubcheck clean
    spine = _xml(path, "content.opf").xpath("opf:spine/opf:itemref/@idref", namespaces=NS)
    assert spine[3:] == [f"passages-{n:03d}" for n in range(1, len(groups) + 1)]
    nav = _xml(path, "nav.xhtml").xpath("//h:nav[@epub:type='toc']/h:ol/h:li/h:a/@href", namespaces=NS)
    assert nav[1:] == passage_hrefs(groups)
    with zipfile.ZipFile(path) as zf:  # a page break before every passage but a document's first
        assert (
            ".passage + .passage { page-break-before: always; break-before: page; }"
            in zf.read("EPUB/style.css").decode()
        )


# ---- reproducibility --------------------------------------------------------------------


def test_byte_reproducible(seed: Publication, seed_epub: Path, tmp_path: Path) -> None:
    again = _export(seed, tmp_path)
    assert again.read_bytes() == seed_epub.read_bytes()
    with zipfile.ZipFile(again) as zf:
        first, *rest = zf.infolist()
        assert (first.filename, first.compress_type) == ("mimetype", zipfile.ZIP_STORED)
        assert zf.read("mimetype") == b"application/epub+zip"
        assert all(info.date_time == FIXED_ZIP_DATE for info in (first, *rest))


def test_edition_date_changes_only_the_dates(seed: Publication, seed_epub: Path, tmp_path: Path) -> None:
    later = dataclasses.replace(seed, edition=seed.edition + dt.timedelta(days=1))
    path = _export(later, tmp_path)
    assert path.read_bytes() != seed_epub.read_bytes()
    modified = _xml(path, "content.opf").xpath("//opf:meta[@property='dcterms:modified']/text()", namespaces=NS)
    assert modified == [f"{later.edition.isoformat()}T00:00:00Z"]


# ---- escaping and edge cases ------------------------------------------------------------

MARKUP = "<b>&amp; \"quoted\" 'single' ]]> </i> & < > \\ %{} \u202eRTL\u202c 🇺🇦 e\u0301\u0303"


@pytest.mark.slow
def test_markup_characters_print_as_written(seed: Publication, tmp_path: Path) -> None:
    # The inner link cannot come from Markdown, but the model allows it; HTML does not.
    link = Link("https://example.org/?a=1&b='2'", (Text(MARKUP), Link("mailto:a@example.org", (Text("inner"),))))
    body = Paragraph((Text(f"Body {MARKUP} "), Code(MARKUP), link))
    first = dataclasses.replace(seed.passages[0], title=f"Title {MARKUP}", summary=f"Summary {MARKUP}", blocks=(body,))
    publication = dataclasses.replace(
        seed, title=f"Pub {MARKUP}", subtitle=f"Sub {MARKUP}", organisation=f"Org {MARKUP}",
        classification="OFFICIAL-SENSITIVE & <draft>", description=MARKUP, authors=(MARKUP,),
        passages=(first, *seed.passages[1:]),
    )  # fmt: skip
    path = _export(publication, tmp_path)
    verify(publication, EXPORTER, path)
    assert EXPORTER.read_back(path)[0] == (f"Title {MARKUP}", f"Body {MARKUP} {MARKUP}{MARKUP}inner")
    (href,) = _xml(path, _document_of(publication, 0)).xpath("//h:section[1]//h:a/@href", namespaces=NS)
    assert href == "https://example.org/?a=1&b='2'"
    title_page = "".join(_xml(path, "titlepage.xhtml").itertext())
    for part in (f"Pub {MARKUP}", f"Sub {MARKUP}", f"Org {MARKUP}", "OFFICIAL-SENSITIVE & <draft>"):
        assert part in title_page
    assert f"Summary {MARKUP}" in "".join(_xml(path, "summary.xhtml").itertext())
    opf = _xml(path, "content.opf")
    assert opf.xpath("opf:metadata/dc:title/text()", namespaces=NS) == [f"Pub {MARKUP}", f"Sub {MARKUP}"]
    assert opf.xpath("opf:metadata/dc:creator/text()", namespaces=NS) == [MARKUP]


@pytest.mark.slow
def test_empty_optional_fields(seed: Publication, tmp_path: Path) -> None:
    bare = dataclasses.replace(
        seed, subtitle="", organisation="", authors=(), classification="", description="",
        passages=tuple(dataclasses.replace(p, summary="", tags=()) for p in seed.passages),
    )  # fmt: skip
    path = _export(bare, tmp_path)
    verify(bare, EXPORTER, path)
    with zipfile.ZipFile(path) as zf:
        assert "EPUB/summary.xhtml" not in zf.namelist()
    assert "summary.xhtml" not in etree.tostring(_xml(path, "nav.xhtml")).decode()
    title_page = _xml(path, "titlepage.xhtml")
    classes = title_page.xpath("//h:p/@class", namespaces=NS)
    assert classes == ["edition"]  # no classification, subtitle or organisation lines


@pytest.mark.slow
# Each example runs EPUBCheck (a JVM, 2-3 s), hence the modest count.
@settings(max_examples=10, deadline=None, suppress_health_check=GENERATION_CHECKS)
@given(publications())
def test_any_valid_publication_exports_and_verifies(publication: Publication) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        path = EXPORTER.export(publication, Path(scratch))
        verify(publication, EXPORTER, path)  # read-back comparison and epubcheck, every example


# ---- theme ------------------------------------------------------------------------------


def _stylesheet(path: Path) -> str:
    with zipfile.ZipFile(path) as zf:
        return zf.read("EPUB/style.css").decode("utf-8")


def test_stylesheet_follows_theme_and_leaves_reader_in_control(seed: Publication, tmp_path: Path) -> None:
    theme = Theme(font="DejaVu Serif", primary_color="#123456", accent_color="#ABCDEF")
    css = _stylesheet(_export(dataclasses.replace(seed, theme=theme), tmp_path))
    assert "#123456" in css and "#ABCDEF" in css and '"DejaVu Serif", sans-serif' in css
    body_rule = re.search(r"(?m)^body\s*\{([^}]*)\}", css)
    assert body_rule and "font" not in body_rule.group(1)
    assert not re.search(r"\d(px|pt|cm|mm|in)\b", css)  # relative units only
    assert all(size.strip().endswith("em") for size in re.findall(r"font-size\s*:\s*([^;}]+)", css))


def test_page_size_does_not_affect_a_reflowable_book(seed: Publication, seed_epub: Path, tmp_path: Path) -> None:
    letter = dataclasses.replace(seed, theme=Theme(page_size="Letter"))
    assert _export(letter, tmp_path).read_bytes() == seed_epub.read_bytes()


@pytest.mark.slow
@pytest.mark.parametrize("image_format, media_type", [("PNG", "image/png"), ("JPEG", "image/jpeg")])
def test_logo_on_title_page(seed: Publication, tmp_path: Path, image_format: str, media_type: str) -> None:
    logo = tmp_path / f"logo.{image_format.lower()}"
    Image.new("RGB", (120, 48), "#1F3A5F").save(logo, image_format)
    publication = dataclasses.replace(seed, theme=Theme(logo=logo))
    path = _export(publication, tmp_path / "out")
    if image_format == "PNG":  # one epubcheck run is enough to show the image is packaged right
        assert epubcheck.check(path) == []
    opf = _xml(path, "content.opf")
    (href,) = opf.xpath(f"opf:manifest/opf:item[@media-type='{media_type}']/@href", namespaces=NS)
    with zipfile.ZipFile(path) as zf:
        assert zf.read(f"EPUB/{href}") == logo.read_bytes()
    (img,) = _xml(path, "titlepage.xhtml").xpath("//h:img", namespaces=NS)
    assert img.get("src") == href and img.get("alt") == ""
    assert "visual" in opf.xpath("//opf:meta[@property='schema:accessMode']/text()", namespaces=NS)


def test_logo_in_another_format_is_left_out(seed: Publication, tmp_path: Path) -> None:
    logo = tmp_path / "logo.gif"
    Image.new("RGB", (120, 48), "#1F3A5F").save(logo, "GIF")
    path = _export(dataclasses.replace(seed, theme=Theme(logo=logo)), tmp_path / "out")
    assert _xml(path, "titlepage.xhtml").xpath("//h:img", namespaces=NS) == []
    assert compare(seed, EXPORTER.read_back(path)) == []


# ---- epubcheck and the registry ---------------------------------------------------------


@pytest.mark.slow
def test_epubcheck_reports_errors(seed_epub: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken.epub"
    with zipfile.ZipFile(seed_epub) as zin, zipfile.ZipFile(broken, "w") as zout:
        for info in zin.infolist():
            data = zin.read(info.filename)
            if info.filename.endswith("passages-001.xhtml"):
                data = data.replace(b"</section>", b'<a href="missing.xhtml">gone</a></section>', 1)
            zout.writestr(info, data)
    problems = epubcheck.check(broken)
    assert len(problems) == 1 and "RSC-007" in problems[0] and "missing.xhtml" in problems[0]
    assert "PKG-018" in epubcheck.check(tmp_path / "absent.epub")[0]  # file not found


def test_epubcheck_without_java_is_a_clear_problem(seed_epub: Path, tmp_path: Path) -> None:
    # a fresh process: this one's JVM, once started, stays up
    env = {k: v for k, v in os.environ.items() if k != "JAVA_HOME"} | {"PATH": str(tmp_path)}  # no java on it
    code = "import sys; from pathlib import Path; from exporters import epubcheck; print(epubcheck.check(Path(sys.argv[1])))"
    run = subprocess.run(
        [sys.executable, "-c", code, str(seed_epub)], env=env, capture_output=True, text=True, check=True
    )
    assert run.stdout.strip() == repr([epubcheck.NO_JAVA])


def test_epubcheck_started_by_a_thread_that_ends_then_the_process_exits(seed_epub: Path) -> None:
    # as in a build: a task's thread starts the JVM and ends, another checks; the process must exit
    code = (
        "import sys, threading; from pathlib import Path; from exporters import epubcheck\n"
        "for _ in range(2):\n"
        "    task = threading.Thread(target=lambda: print(epubcheck.check(Path(sys.argv[1])))); task.start(); task.join()"
    )
    run = subprocess.run(
        [sys.executable, "-c", code, str(seed_epub)], capture_output=True, text=True, timeout=120, check=True
    )
    assert run.stdout.split() == ["[]", "[]"]


@pytest.mark.slow
def test_briefing_with_table_footnotes_and_figure(seed: Publication, tmp_path: Path) -> None:
    publication = briefing(seed, tmp_path / "source")
    path = _export(publication, tmp_path)
    verify(publication, EXPORTER, path)  # read-back (cells, notes, alt text, caption) and epubcheck
    section = _xml(path, _document_of(publication, 1)).find("h:body/h:section[@id='passage-0002']", NS)
    assert section.xpath("h:table/h:caption//text()", namespaces=NS)[0].startswith("Military aid pledges")
    assert section.xpath("h:table/h:thead/h:tr/h:th/@scope", namespaces=NS) == ["col"] * 4
    assert section.xpath("h:table/h:tbody/h:tr[1]/h:td/@class", namespaces=NS)[1] == "align-right"
    refs = section.xpath(".//h:a[@epub:type='noteref']", namespaces=NS)
    assert [(a.text, a.get("id")) for a in refs] == [("1", "noteref-1"), ("1", None), ("2", "noteref-2")]
    notes = section.xpath("h:aside[@epub:type='footnote']", namespaces=NS)
    assert [n.get("role") for n in notes] == ["doc-footnote"] * 2
    assert notes[0].xpath("h:p/h:a[@role='doc-backlink']/@href", namespaces=NS) == ["#noteref-1"]
    img = section.find("h:figure/h:img", NS)
    assert img.get("alt").startswith("Bar chart") and img.get("src") == "figures/figure-1.png"
    assert "".join(section.find("h:figure/h:figcaption", NS).itertext()) == "Figure 1: Pledges by donor, 2023-2024"
    with zipfile.ZipFile(path) as zf:
        assert zf.read("EPUB/figures/figure-1.png") == (tmp_path / "source/figures/pledges.png").read_bytes()
    opf = _xml(path, "content.opf")
    features = opf.xpath("//opf:meta[@property='schema:accessibilityFeature']/text()", namespaces=NS)
    modes = opf.xpath("//opf:meta[@property='schema:accessMode']/text()", namespaces=NS)
    assert "alternativeText" in features and modes == ["textual", "visual"]
    (tmp_path / "again").mkdir()
    assert EXPORTER.export(publication, tmp_path / "again").read_bytes() == path.read_bytes()
