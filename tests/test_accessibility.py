"""Accessibility: the Word pack's own check (on good files and on files each missing one property),
the EPUB's navigation and cover, and DAISY Ace on EPUBs."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from docx.oxml.ns import qn
from hypothesis import given, settings
from lxml import etree

from briefkit.model import Heading, ListBlock, Paragraph, Publication, Text, outline
from exporters import docx as docx_exporter
from exporters import epub as epub_exporter
from exporters import epubcheck
from tests.samples import SKIPPING_BODY, briefing, chart_png, rich
from tests.strategies import GENERATION_CHECKS, publications

ACE = shutil.which("ace-puppeteer")  # Ace's command line on puppeteer; plain `ace` runs it on electron
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture
def sample(seed: Publication, tmp_path: Path) -> Publication:
    """The rich briefing, with the theme's logo and a heading that would skip a level."""
    publication = briefing(seed, tmp_path / "source", SKIPPING_BODY)
    logo = chart_png(tmp_path / "source" / "logo.png", (120, 60))
    return dataclasses.replace(publication, theme=dataclasses.replace(publication.theme, logo=logo))


def test_outline_never_skips_a_level() -> None:
    text = (Text("x"),)
    blocks = (Heading(3, text), ListBlock(False, 1, ((Heading(3, text),),)), Heading(2, text), Paragraph(text))
    assert [getattr(b, "level", None) for b in outline(blocks)] == [2, None, 2, None]
    assert outline(blocks)[1].items[0][0].level == 3  # one below the heading before it


# ---- Word ------------------------------------------------------------------------------


def test_docx_seed_and_briefing_pass_the_check(seed: Publication, sample: Publication, tmp_path: Path) -> None:
    for publication in (seed, rich(seed), sample):
        assert docx_exporter.check(docx_exporter.export(publication, tmp_path)) == []
    document = zipfile.ZipFile(tmp_path / f"{sample.id}-briefing-pack.docx").read("word/document.xml").decode()
    assert f'descr="{sample.organisation}"' in document  # the logo is named for screen readers


def test_docx_decorative_figure_is_marked_so(seed: Publication, tmp_path: Path) -> None:
    publication = briefing(seed, tmp_path / "source", '![](figures/pledges.png "decorative")\n')
    path = docx_exporter.export(publication, tmp_path)
    assert docx_exporter.check(path) == []
    (drawing,) = etree.fromstring(zipfile.ZipFile(path).read("word/document.xml")).xpath("//wp:docPr", namespaces=NS)
    assert drawing.get("descr") == "" and drawing.xpath("*//*[local-name()='decorative']/@val") == ["1"]


def _rewrite(path: Path, member: str, change: Callable[[etree._Element], None], dest: Path) -> Path:
    """A copy of the package at ``path`` with ``member``'s XML changed by ``change``."""
    with zipfile.ZipFile(path) as old, zipfile.ZipFile(dest, "w") as new:
        for info in old.infolist():
            data = old.read(info)
            if info.filename == member:
                root = etree.fromstring(data)
                change(root)
                data = etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)
            new.writestr(info, data)
    return dest


def _remove(xpath: str) -> Callable[[etree._Element], None]:
    def change(root: etree._Element) -> None:
        found = root.xpath(xpath, namespaces=NS)
        assert found, xpath
        element = found[0]
        element.getparent().remove(element)

    return change


def _set(xpath: str, attribute: str, value: str) -> Callable[[etree._Element], None]:
    def change(root: etree._Element) -> None:
        found = root.xpath(xpath, namespaces=NS)
        assert found, xpath
        found[0].set(attribute, value)

    return change


def _remove_attribute(xpath: str, attribute: str) -> Callable[[etree._Element], None]:
    def change(root: etree._Element) -> None:
        found = root.xpath(xpath, namespaces={**NS, "h": "http://www.w3.org/1999/xhtml"})
        assert found, xpath
        del found[0].attrib[attribute]

    return change


def _empty_link(root: etree._Element) -> None:
    for t in root.xpath("//w:hyperlink[@r:id]", namespaces=NS)[0].xpath(".//w:t", namespaces=NS):
        t.text = ""


NS = {
    "w": "http://schemas.openxmlformats.org/wordprocessingml/2006/main",
    "r": "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
    "wp": "http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing",
    "dc": "http://purl.org/dc/elements/1.1/",
}
BROKEN = {
    "language in styles": ("word/styles.xml", _remove("w:docDefaults/w:rPrDefault/w:rPr/w:lang"), "(w:lang)"),
    "language in settings": ("word/settings.xml", _remove("w:themeFontLang"), "(w:themeFontLang)"),
    "title": ("docProps/core.xml", _remove("dc:title"), "no title in the core properties"),
    "heading order": (
        "word/document.xml",
        _set("//w:pStyle[@w:val='Heading2']", qn("w:val"), "Heading3"),
        "heading level 3 follows level 1",
    ),
    "logo text": ("word/document.xml", _set("//wp:docPr", "descr", ""), "no alternative"),
    "table header": ("word/document.xml", _remove("//w:tblHeader"), "without a header row"),
    "link text": ("word/document.xml", _empty_link, "has no text"),
    "colour alone": ("word/document.xml", _remove("//w:rPr[w:color]/w:b"), "marked by colour alone"),
    "link style": ("word/styles.xml", _remove("w:style[@w:styleId='Hyperlink']/w:rPr/w:u"), "'Hyperlink' marks"),
}


@pytest.mark.parametrize("broken", BROKEN)
def test_docx_check_reports_each_missing_property(sample: Publication, tmp_path: Path, broken: str) -> None:
    member, change, message = BROKEN[broken]
    good = docx_exporter.export(sample, tmp_path)
    bad = _rewrite(good, member, change, tmp_path / "bad.docx")
    problems = docx_exporter.check(bad)
    assert any(message in problem for problem in problems), problems


# ---- EPUB: navigation and cover ---------------------------------------------------------------

OPF_NS = {
    "h": "http://www.w3.org/1999/xhtml",
    "epub": "http://www.idpf.org/2007/ops",
    "opf": "http://www.idpf.org/2007/opf",
}


def _epub_xml(path: Path, name: str) -> etree._Element:
    with zipfile.ZipFile(path) as package:
        return etree.fromstring(package.read(f"EPUB/{name}"))


@pytest.mark.slow
def test_epub_landmarks_cover_and_sub_headings_in_the_contents(sample: Publication, tmp_path: Path) -> None:
    path = epub_exporter.export(sample, tmp_path)
    assert epubcheck.check(path) == []
    assert epub_exporter.export(sample, tmp_path / "again").read_bytes() == path.read_bytes()
    nav = _epub_xml(path, "nav.xhtml")
    assert nav.xpath("//h:nav[@epub:type='landmarks']/@hidden", namespaces=OPF_NS) == [""]
    landmarks = nav.xpath("//h:nav[@epub:type='landmarks']//h:a", namespaces=OPF_NS)
    first = epub_exporter.passage_hrefs(epub_exporter.documents(sample))[0].split("#")[0]
    assert [(a.get(f"{{{OPF_NS['epub']}}}type"), a.get("href")) for a in landmarks] == [
        ("toc", "nav.xhtml"),
        ("bodymatter", first),
    ]
    opf = _epub_xml(path, "content.opf")
    assert opf.xpath("opf:manifest/opf:item[@properties='cover-image']/@href", namespaces=OPF_NS) == ["logo.png"]
    (entry,) = nav.xpath("//h:nav[@epub:type='toc']/h:ol/h:li[h:a[text()='Who pledges what']]", namespaces=OPF_NS)
    nested = entry.xpath("h:ol/h:li/h:a", namespaces=OPF_NS)
    # the ### under the title is the passage's first sub-heading; one in a quote is no entry
    assert [a.text for a in nested] == ["Deliveries", "Outlook"]
    for a in nested:
        document, fragment = a.get("href").split("#")
        (heading,) = _epub_xml(path, document).xpath(f"//*[@id='{fragment}']", namespaces=OPF_NS)
        assert heading.tag == f"{{{OPF_NS['h']}}}h2" and heading.text == a.text


def test_epub_empty_header_cell_is_no_header(seed: Publication, tmp_path: Path) -> None:
    publication = briefing(seed, tmp_path / "source", "| | 2024 |\n|---|---|\n| Germany | 19.4 |\n")
    path = epub_exporter.export(publication, tmp_path)
    document = epub_exporter.passage_hrefs(epub_exporter.documents(publication))[1].split("#")[0]
    (row,) = _epub_xml(path, document).xpath("//h:thead/h:tr", namespaces=OPF_NS)
    assert [(etree.QName(cell).localname, cell.get("scope")) for cell in row] == [("td", None), ("th", "col")]


def test_epub_without_logo_has_no_cover_image(seed: Publication, tmp_path: Path) -> None:
    opf = _epub_xml(epub_exporter.export(seed, tmp_path), "content.opf")
    assert opf.xpath("//opf:item[@properties='cover-image'] | //opf:meta[@name='cover']", namespaces=OPF_NS) == []


# ---- EPUB: DAISY Ace -------------------------------------------------------------------------


def ace_violations(path: Path, out: Path) -> list[str]:
    """Every violation Ace finds in the EPUB at ``path``, as "document: rule (impact)"."""
    assert ACE, "DAISY Ace is not installed: bash scripts/system-deps.sh test"
    # Debian's chromium, and nothing beyond loopback: every proxied request goes to a closed port
    offline = {key: "http://127.0.0.1:9" for key in ("http_proxy", "https_proxy", "all_proxy")}
    env = {**os.environ, **offline, "no_proxy": "127.0.0.1,localhost", "PUPPETEER_EXECUTABLE_PATH": CHROMIUM}
    subprocess.run([ACE, "--silent", "--force", "--outdir", str(out), str(path)], env=env, check=True, timeout=300)
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    return [
        f"{document['earl:testSubject']['url']}: {a['earl:test']['dct:title']} ({a['earl:test']['earl:impact']})"
        for document in report["assertions"]
        for a in document.get("assertions", [])
        if a["earl:result"]["earl:outcome"] == "fail"
    ]


needs_chromium = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="chromium is not installed")


@pytest.mark.slow
@needs_chromium
def test_ace_finds_no_violation_in_the_seed_and_briefing(
    seed: Publication, sample: Publication, tmp_path: Path
) -> None:
    for n, publication in enumerate((seed, sample)):
        path = epub_exporter.export(publication, tmp_path)
        assert ace_violations(path, tmp_path / f"ace-{n}") == []


@pytest.mark.slow
@needs_chromium
@settings(max_examples=3, deadline=None, suppress_health_check=GENERATION_CHECKS)
# two passages alike in title and text would be two landmarks nobody could tell apart (axe's landmark-unique)
@given(
    publication=publications(max_passages=2).filter(
        lambda p: len({(q.title, q.blocks) for q in p.passages}) == len(p.passages)
    )
)
def test_ace_finds_no_violation_in_generated_publications(
    publication: Publication, tmp_path_factory: pytest.TempPathFactory
) -> None:
    tmp = tmp_path_factory.mktemp("ace")
    assert ace_violations(epub_exporter.export(publication, tmp), tmp / "report") == []


@pytest.mark.slow
@needs_chromium
def test_ace_reports_an_image_without_alternative_text(sample: Publication, tmp_path: Path) -> None:
    good = epub_exporter.export(sample, tmp_path)
    document = "EPUB/" + epub_exporter.passage_hrefs(epub_exporter.documents(sample))[1].split("#")[0]
    bad = _rewrite(good, document, _remove_attribute("//h:figure/h:img", "alt"), tmp_path / "bad.epub")
    assert any("image-alt" in violation for violation in ace_violations(bad, tmp_path / "ace"))
