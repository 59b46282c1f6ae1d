"""The same front matter in every format: title, subtitle, authors, organisation, edition date,
classification at the top and bottom of every page, and an executive summary whose passage
titles link to the passages."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import Counter
from pathlib import Path

import docx
import pytest
from docx.oxml.ns import qn
from ebooklib import epub as ebooklib_epub
from lxml import etree
from pypdf import PdfReader

from briefkit.model import Publication
from exporters import docx as docx_exporter
from exporters import epub, pdf

XHTML = "{http://www.w3.org/1999/xhtml}"


@pytest.fixture(scope="module")
def publication(seed: Publication) -> Publication:
    return dataclasses.replace(
        seed, authors=("Ada Lovelace", "Charles Babbage"), organisation="Analytical Desk", edition=dt.date(2026, 12, 3)
    )


def _front(publication: Publication) -> list[str]:
    return [
        publication.title,
        publication.subtitle,
        "Ada Lovelace, Charles Babbage",
        "Analytical Desk",
        "3 December 2026",
    ]


def test_the_word_pack(publication: Publication, tmp_path: Path) -> None:
    document = docx.Document(str(docx_exporter.export(publication, tmp_path)))
    texts = [p.text for p in document.paragraphs]
    cover = texts[: texts.index("Contents")]
    assert cover == [publication.classification, *_front(publication)]
    section = document.sections[-1]
    for part in (section.header, section.footer, section.first_page_footer):  # the cover's top is its first line
        assert part.paragraphs[0].text.startswith(publication.classification)
    headings = [(p.style.name, p.text) for p in document.paragraphs]
    start = headings.index(("Heading 1", "Executive summary")) + 1
    titles = document.paragraphs[start : start + 2 * len(publication.passages) : 2]
    assert [p.text for p in titles] == [p.title for p in publication.passages]
    anchors = [link.get(qn("w:anchor")) for p in titles for link in p._p.iter(qn("w:hyperlink"))]
    assert anchors == [f"passage_{n}" for n in range(1, len(publication.passages) + 1)]


def test_the_pdf_handout(publication: Publication, tmp_path: Path) -> None:
    reader = PdfReader(pdf.export(publication, tmp_path))
    first = reader.pages[0].extract_text()
    assert all(line in first for line in _front(publication))
    for page in reader.pages:  # header and footer
        assert page.extract_text().count(publication.classification) >= 2
    top = [o for o in reader.outline if not isinstance(o, list)]
    passages = [(reader.get_destination_page_number(o), round(float(o.top))) for o in top]
    before = reader.pages[: passages[0][0] + 1]  # contents and summary, which may end where the passages begin
    links = [a.get_object() for page in before for a in page.get("/Annots", [])]
    targets = [(reader.get_page_number(a["/Dest"][0].get_object()), round(float(a["/Dest"][3]))) for a in links]
    # each passage's line in the contents (its title and page number), and its title in the summary
    assert Counter(t for t in targets if t in passages) == {passage: 2 for passage in passages}
    assert "Executive summary" in first


def test_the_epub_reader(publication: Publication, tmp_path: Path) -> None:
    book = ebooklib_epub.read_epub(str(epub.export(publication, tmp_path)), {"ignore_ncx": True})
    items = {item.get_id(): etree.fromstring(item.content) for item in book.get_items_of_type(9)}  # documents
    title = items["titlepage"]
    assert all(line in " ".join(title.itertext()) for line in _front(publication))
    for name, root in items.items():
        if name != "nav":
            body = root.find(f"{XHTML}body")
            marks = [body[0], body[-1]]
            assert [(m.get("class"), m.text) for m in marks] == [("classification", publication.classification)] * 2
    links = items["summary"].findall(f".//{XHTML}h2/{XHTML}a")
    assert [a.text for a in links] == [p.title for p in publication.passages]
    assert [a.get("href") for a in links] == epub.passage_hrefs(epub.documents(publication))
