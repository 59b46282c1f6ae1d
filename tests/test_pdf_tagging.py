"""The tagged PDF handout (PDF/UA-1): read by poppler and checked with pikepdf, independently of
briefkit's own read-back, which is shown to follow the structure tree rather than the pages."""

from __future__ import annotations

import dataclasses
import itertools
import re
import subprocess
import unicodedata
from pathlib import Path

import pikepdf
import pytest

from briefkit.model import Link, ListBlock, Paragraph, Publication, Table, Text, body_texts, squash
from exporters import pdf, registry
from exporters.verify import VerificationError, verify
from tests.samples import SKIPPING_BODY, briefing, chart_png


@pytest.fixture
def sample(seed: Publication, tmp_path: Path) -> Publication:
    """The rich briefing (table, footnotes, figure, lists, quote, links), with a logo."""
    publication = briefing(seed, tmp_path / "source", SKIPPING_BODY + "\n1. First step\n2. Second step\n")
    logo = chart_png(tmp_path / "source" / "logo.png", (200, 80))
    return dataclasses.replace(publication, theme=dataclasses.replace(publication.theme, logo=logo))


def poppler_passages(path: Path, between: str = "") -> list[tuple[str, str]]:
    """(title, body) of each Sect of the Document as poppler's ``pdfinfo -struct-text`` reads them,
    the texts of the body's elements joined with ``between``."""
    dump = subprocess.run(["pdfinfo", "-struct-text", str(path)], capture_output=True, text=True, check=True).stdout
    out: list[tuple[str, str]] = []
    for section in re.split(r"(?m)^  Sect\n", dump)[1:]:
        section = re.split(r"(?m)^  \S", section)[0]  # up to the Document's next child
        heading, *rest = re.split(r"(?m)^    (?=\S)", section)[1:]  # the Sect's children
        out.append((_quoted(heading), _quoted("".join(rest), between)))
    return out


def _quoted(dump: str, between: str = "") -> str:
    """The texts in a part of poppler's dump, but list labels (Lbl): not the passage's text."""
    texts: list[str] = []
    label_depth = None  # the indentation of the Lbl being skipped
    for line in dump.splitlines():
        depth = len(line) - len(line.lstrip())
        if label_depth is not None and depth > label_depth:
            continue
        label_depth = depth if line.strip().startswith("Lbl") else None
        if (text := re.fullmatch(r'\s*"(.*)"', line)) is not None:
            texts.append(text.group(1))
    return between.join(texts)


def elements(pdf_file: pikepdf.Pdf) -> list[pikepdf.Dictionary]:
    """Every structure element, depth first in reading order."""
    out: list[pikepdf.Dictionary] = []
    todo = [pdf_file.Root.StructTreeRoot.K]
    while todo:
        element = todo.pop()
        out.append(element)
        kids = element.get("/K")
        kids = list(kids) if isinstance(kids, pikepdf.Array) else [kids]
        todo.extend(k for k in reversed(kids) if isinstance(k, pikepdf.Dictionary) and "/S" in k)
    return out


def marks(element: pikepdf.Dictionary) -> set[tuple[tuple[int, int], int]]:
    """The (page, MCID) of each piece of marked content ``element`` holds itself: a bare MCID on the
    element's Pg, or an MCR with its own Pg (PDF 32000-1, 14.7.4.2)."""
    kids = element.get("/K")
    kids = list(kids) if isinstance(kids, pikepdf.Array) else [kids]
    out = {(element.Pg.objgen, int(k)) for k in kids if isinstance(k, int)}
    return out | {(k.Pg.objgen, int(k.MCID)) for k in kids if isinstance(k, pikepdf.Dictionary) and "/MCID" in k}


def content_mcids(page: pikepdf.Page) -> list[int]:
    return [int(operands[1].MCID) for operands, op in pikepdf.parse_content_stream(page)
            if str(op) == "BDC" and isinstance(operands[1], pikepdf.Dictionary) and "/MCID" in operands[1]]  # fmt: skip


def test_pdfinfo_says_tagged_and_poppler_reads_every_passage_in_order(sample: Publication, tmp_path: Path) -> None:
    path = pdf.export(sample, tmp_path)
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True).stdout
    assert re.search(r"(?m)^Tagged:\s+yes$", info)
    read = poppler_passages(path)
    assert [_as_poppler_reads(title) for title, _ in read] == [_as_poppler_reads(p.title) for p in sample.passages]
    for passage, (_, body) in zip(sample.passages, read):
        # poppler reads a figure's content, briefkit's invisible copy of its alt text, not /Alt: the same text
        assert _as_poppler_reads(body) == _as_poppler_reads(" ".join(body_texts(passage)))


def test_every_mark_and_annotation_is_owned_and_the_catalog_is_pdf_ua(sample: Publication, tmp_path: Path) -> None:
    path = pdf.export(sample, tmp_path)
    with pikepdf.open(path) as handout:
        root = handout.Root
        assert root.MarkInfo.Marked is True and root.ViewerPreferences.DisplayDocTitle is True
        assert str(root.Lang) == sample.language
        xmp = root.Metadata.read_bytes().decode()
        assert "<pdfuaid:part>1</pdfuaid:part>" in xmp and sample.title in xmp
        assert all(author in xmp for author in sample.authors)
        parents = dict(zip(*[iter(root.StructTreeRoot.ParentTree.Nums)] * 2))
        annotations = 0
        for page in handout.pages:
            assert page.Tabs == "/S"
            owners = parents[int(page.StructParents)]
            mcids = content_mcids(page)
            assert sorted(mcids) == list(range(len(owners)))  # each MCID once, each with its owner
            for mcid in mcids:
                assert (page.objgen, mcid) in marks(owners[mcid])
            for annotation in page.get("/Annots", []):
                annotations += 1
                link = parents[int(annotation.StructParent)]
                assert link.S == "/Link" and str(annotation.Contents)
                objects = [
                    k.Obj.objgen for k in link.K if isinstance(k, pikepdf.Dictionary) and k.get("/Type") == "/OBJR"
                ]
                assert annotation.objgen in objects
        assert annotations >= len(sample.passages)  # the contents link every passage
        roles = [str(e.S) for e in elements(handout)]
        headings = [int(r[2]) for r in roles if re.fullmatch(r"/H[1-6]", r)]
        assert headings[0] == 1 and all(b <= a + 1 for a, b in itertools.pairwise(headings))
        figures = [e for e in elements(handout) if e.S == "/Figure"]
        assert len(figures) == 2 and all(str(f.Alt).strip() for f in figures)  # the logo and the chart
        for role in ("/Sect", "/H2", "/P", "/L", "/LI", "/Lbl", "/LBody", "/BlockQuote", "/Link", "/Note", "/Table", "/TR",
                     "/TH", "/TD", "/Caption", "/TOC", "/TOCI"):  # fmt: skip
            assert role in roles, role
        assert all(e.A.Scope == "/Column" for e in elements(handout) if e.S == "/TH")


def test_a_paragraph_list_or_table_over_pages_is_one_element(seed: Publication, tmp_path: Path) -> None:
    long = Paragraph((Text("word " * 3000),))
    item = ListBlock(False, 1, ((long,),))
    table = Table(((Text("Row"),),), tuple(((Text(f"row {n}"),),) for n in range(120)), ("",), ())
    passage = dataclasses.replace(seed.passages[0], blocks=(long, item, table))
    path = pdf.export(dataclasses.replace(seed, passages=(passage,)), tmp_path)
    with pikepdf.open(path) as handout:

        def pages(element: pikepdf.Dictionary) -> set[tuple[int, int]]:
            """The pages ``element`` and its descendants show content on."""
            kids = [k for k in element.K if isinstance(k, pikepdf.Dictionary)]
            return {page for page, _ in marks(element)}.union(*(pages(k) for k in kids if "/S" in k))

        found = elements(handout)
        paragraphs = [e for e in found if e.S == "/P" and len(pages(e)) >= 2]
        assert len(paragraphs) == 2  # the paragraph, and the one in the list item
        item_list = [e for e in found if e.S == "/L"][-1]  # after the executive summary's
        assert len(item_list.K) == 1 and len(pages(item_list)) >= 2  # one item, though it spans pages
        (grid,) = [e for e in found if e.S == "/Table"]
        assert len(grid.K) == 121 and len(pages(grid)) >= 2  # one table, a row each, the header once
    verify(dataclasses.replace(seed, passages=(passage,)), registry.get("pdf"), path)


def test_read_back_follows_the_structure_tree_not_the_pages(seed: Publication, tmp_path: Path) -> None:
    """Two passages swapped in the tree, the pages untouched: the read-back sees them swapped."""
    path = pdf.export(seed, tmp_path)
    with pikepdf.open(path, allow_overwriting_input=True) as handout:
        kids = handout.Root.StructTreeRoot.K.K
        sections = [n for n, k in enumerate(kids) if k.S == "/Sect"]
        first, second = sections[0], sections[1]
        kids[first], kids[second] = kids[second], kids[first]
        handout.save(path)
    titles = [title for title, _ in pdf.read_back(path)]
    assert squash(titles[0]) == squash(seed.passages[1].title)
    with pytest.raises(VerificationError, match="title"):
        verify(seed, registry.get("pdf"), path)


def test_untagged_text_fails_verification(seed: Publication, tmp_path: Path) -> None:
    """Text a screen reader cannot reach, neither content nor artifact, is not a handout we publish."""
    path = pdf.export(seed, tmp_path)
    with pikepdf.open(path, allow_overwriting_input=True) as handout:
        page = handout.pages[-1]
        kept = [(o, op) for o, op in pikepdf.parse_content_stream(page) if str(op) not in ("BDC", "BMC", "EMC")]
        page.Contents = handout.make_stream(pikepdf.unparse_content_stream(kept))
        handout.save(path)
    with pytest.raises(VerificationError, match="outside the structure tree"):
        verify(seed, registry.get("pdf"), path)


def test_a_file_without_its_tree_fails_the_check(seed: Publication, tmp_path: Path) -> None:
    path = pdf.export(seed, tmp_path)
    with pikepdf.open(path, allow_overwriting_input=True) as handout:
        del handout.Root.MarkInfo
        del handout.Root.ViewerPreferences
        handout.save(path)
    problems = pdf.check(path)
    assert any("MarkInfo" in p for p in problems) and any("DisplayDocTitle" in p for p in problems)


def _as_poppler_reads(text: str) -> str:
    """``text`` as poppler gives it: soft hyphens dropped, noncharacters (U+xFFFE, U+xFFFF) as U+FFFD;
    hyphens left out on both sides, as poppler drops one that ends a line, taking it for a break."""
    text = squash(text).replace("\u00ad", "").replace("-", "")
    return "".join("\ufffd" if ord(c) & 0xFFFE == 0xFFFE else c for c in text)


def test_a_contents_line_reads_as_its_title_then_its_page(sample: Publication, tmp_path: Path) -> None:
    """Each line of the contents is one link whose text a screen reader reads: the title, a space,
    the page number (not "troops2")."""
    dump = subprocess.run(
        ["pdfinfo", "-struct-text", str(pdf.export(sample, tmp_path))], capture_output=True, text=True, check=True
    ).stdout
    lines = re.findall(r'(?m)^ +TOCI\n +Link \(inline\)\n +"(.*)"$', dump)
    read = [re.fullmatch(r"(.*) (\d+)", line) for line in lines]
    assert all(read), lines
    assert [_as_poppler_reads(m.group(1)) for m in read] == [_as_poppler_reads(p.title) for p in sample.passages]
    assert all(int(m.group(2)) >= 1 for m in read)


def test_words_at_line_ends_stay_apart_for_a_screen_reader(sample: Publication, tmp_path: Path) -> None:
    """reportlab draws no space where it breaks a line, and tagged PDF marks word breaks with
    spaces (PDF 32000-1, 14.8.2.5): read through the structure tree, every word comes back whole
    and apart, at line ends, in table cells, in a linked word ending a line and across a page."""
    words = [f"w{n}" for n in range(2500)]
    long = Paragraph((Text(" ".join(words[:1200]) + " "), Link("https://example.org/a", (Text("linked"),)),
                      Text(" " + " ".join(words[1200:]))))  # fmt: skip
    passages = (*sample.passages, dataclasses.replace(sample.passages[0], id="long", title="Long", blocks=(long,)))
    publication = dataclasses.replace(sample, passages=passages)
    path = pdf.export(publication, tmp_path)
    read = poppler_passages(path, between="\n")
    assert len(read) == len(publication.passages)
    for passage, (_, body) in zip(publication.passages, read):
        assert _words(body) == _words(" ".join(body_texts(passage)))


def _words(text: str) -> list[str]:
    """The words of ``text`` as poppler gives them (see _as_poppler_reads), hyphens and soft hyphens left out."""
    text = unicodedata.normalize("NFC", text).replace("-", "").replace("\u00ad", "")
    return ["".join("\ufffd" if ord(c) & 0xFFFE == 0xFFFE else c for c in word) for word in text.split()]
