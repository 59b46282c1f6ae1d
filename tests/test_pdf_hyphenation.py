"""Hyphenation of the PDF's body text in the publication's language: drawn as a hyphen, read as
a soft hyphen at the line end, so read-back, copy and pdftotext keep the words the source has."""

from __future__ import annotations

import dataclasses
import itertools
import re
import subprocess
from pathlib import Path

import pyphen
import pytest

from briefkit.markdown import parse_body
from briefkit.model import Figure, Paragraph, Publication, Text
from exporters import pdf, registry
from exporters.pdf.furniture import MARGIN_X
from exporters.verify import verify
from tests.samples import briefing

SENTENCE = (
    "The internationalisation of responsibilities characteristically overwhelms well-known "
    "counterintelligence institutions, notwithstanding extraordinary circumstances. "
)
HEADING = "Uncharacteristically incomprehensible heading " * 4
PHRASE_FR = (
    "L'internationalisation des responsabilités gouvernementales caractérise particulièrement "
    "les négociations extraordinairement compliquées. "
)


def _publication(seed: Publication, markdown: str, language: str = "en") -> Publication:
    body = parse_body(markdown, Path("x.md"), 1)
    assert not body.diagnostics, body.diagnostics
    passage = dataclasses.replace(seed.passages[0], blocks=body.blocks, notes=body.notes)
    return dataclasses.replace(seed, language=language, passages=(passage,))


def _pdftotext(path: Path) -> str:
    return subprocess.run(
        ["pdftotext", "-enc", "UTF-8", str(path), "-"], check=True, capture_output=True, text=True
    ).stdout


def _breaks(text: str) -> list[tuple[str, str]]:
    """Each word broken at a line end with a soft hyphen: its head and its tail."""
    return re.findall(r"(\w+)\u00ad\n(\w+)", text)


def test_body_text_is_hyphenated_and_reads_back_as_written(seed: Publication, tmp_path: Path) -> None:
    # plain, emphasised, quoted and listed text, a paragraph over pages (split, then drawn in two
    # parts), and runs of "well-known" after openings of different lengths, so that some lines end
    # after its own hyphen
    markdown = "\n\n".join([
        SENTENCE * 3, f"## {HEADING}", "*" + SENTENCE.strip() + "* " + SENTENCE, "> " + SENTENCE * 3,
        "- " + SENTENCE * 3, SENTENCE * 70, *("a" * n + " well-known" * 30 for n in range(1, 11)),
    ]) + "\n"  # fmt: skip
    publication = _publication(seed, markdown)
    path = pdf.export(publication, tmp_path)
    verify(publication, registry.get("pdf"), path)  # the read-back is the source, character for character

    text = _pdftotext(path)
    breaks = _breaks(text)
    assert len(breaks) > 20  # hyphenated, the added hyphen read as a soft hyphen
    english = pyphen.Pyphen(lang="en")
    words = set(re.findall(r"\w+", SENTENCE))
    for head, tail in breaks:  # where the English dictionary allows, and never in a heading
        assert head + tail in words and (head, tail) in english.iterate(head + tail), (head, tail)
    # no hard hyphen the source lacks (poppler takes a "-" at a line end for a break's and drops it: "wellknown")
    assert "-" not in text.replace("well-known", "")

    lines = pdf.read_back(path)[0][1].split("\n")  # a hyphen of the source, at a line end, stays
    assert any(line.endswith(" well-") and after.startswith("known ") for line, after in itertools.pairwise(lines))

    again = tmp_path / "again"
    again.mkdir()
    assert pdf.export(publication, again).read_bytes() == path.read_bytes()


def test_table_cells_and_notes_are_hyphenated_and_read_back_as_written(seed: Publication, tmp_path: Path) -> None:
    words = SENTENCE.split()
    rows = "\n".join(
        f"| {' '.join(words[n : n + 4])} | {n} | {' '.join(reversed(words[n : n + 3]))} | x |" for n in range(8)
    )
    markdown = f"A claim.[^1]\n\n| Option | Cost | Notes | Flag |\n|---|---:|---|---|\n{rows}\n\n[^1]: {SENTENCE * 4}\n"
    publication = _publication(seed, markdown)
    path = pdf.export(publication, tmp_path)
    verify(publication, registry.get("pdf"), path)  # cells and notes read back character for character

    text = _pdftotext(path)
    breaks = _breaks(text)
    assert len(breaks) > 5
    # a narrow column is widened to its longest word, in its header too: not cut mid-word
    assert {"Cost", "Flag"} <= set(text.split())
    english, words_of = pyphen.Pyphen(lang="en"), set(re.findall(r"\w+", SENTENCE))
    for head, tail in breaks:
        assert head + tail in words_of and (head, tail) in english.iterate(head + tail), (head, tail)


@pytest.mark.parametrize(("language", "dictionary"), [("fr-CA", "fr"), ("ja", None)])
def test_hyphenation_follows_the_publications_language(
    language: str, dictionary: str | None, seed: Publication, tmp_path: Path
) -> None:
    publication = _publication(seed, PHRASE_FR * 12 + "\n", language)
    path = pdf.export(publication, tmp_path)
    verify(publication, registry.get("pdf"), path)
    breaks = _breaks(_pdftotext(path))
    if dictionary is None:  # a language pyphen has no dictionary for: not hyphenated
        assert breaks == []
        return
    assert breaks
    for head, tail in breaks:
        assert (head, tail) in pyphen.Pyphen(lang=dictionary).iterate(head + tail), (head, tail)


def test_soft_hyphens_of_the_source_read_back_in_text_and_alt_text(seed: Publication, tmp_path: Path) -> None:
    publication = briefing(seed, tmp_path / "source")
    aid = publication.passages[1]
    soft = "Mil\u00adi\u00adtary aid, \u00adsoft\u00ad hyphens\u00ad"
    blocks = [dataclasses.replace(b, alt=soft) if isinstance(b, Figure) else b for b in aid.blocks]
    blocks.append(Paragraph((Text(soft + " " + SENTENCE * 3),)))
    passage = dataclasses.replace(aid, blocks=tuple(blocks))
    publication = dataclasses.replace(publication, passages=(publication.passages[0], passage))
    path = pdf.export(publication, tmp_path)
    verify(publication, registry.get("pdf"), path)  # kept where the source has them, drawn or not
    assert pdf.read_back(path)[1][1].count(soft) == 2


def _word_boxes(path: Path) -> list[tuple[float, float, float, str]]:
    """Every word poppler finds: its page's width, its left and right edges, its text."""
    xhtml = subprocess.run(["pdftotext", "-bbox", str(path), "-"], check=True, capture_output=True, text=True).stdout
    boxes = []
    for page in re.split(r"<page ", xhtml)[1:]:
        width = float(re.match(r'width="([\d.]+)"', page).group(1))
        for x_min, x_max, word in re.findall(
            r'<word xMin="([\d.]+)" yMin="[\d.]+" xMax="([\d.]+)"[^>]*>([^<]*)<', page
        ):
            boxes.append((width, float(x_min), float(x_max), word))
    return boxes


def test_words_longer_than_a_line_stay_between_the_margins(seed: Publication, tmp_path: Path) -> None:
    # reportlab breaks a URL after a separator, or a word at a hyphen, and never splits what is
    # left, however long: each such rest, in every kind of text and in a narrow table column
    url = "https://example.org/reports/2025/" + "annexes" * 14 + "?page=1&section=2"
    long = "a-" + "b" * 120  # after its hyphen, a rest hyphenation cannot split
    cells = " | ".join(f"https://example.org/{'Wx' * 16}" for _ in range(8))
    markdown = "\n\n".join([
        url, f"See {url} for more.", f"See <{url}> or *{url}*.", long, f"> {url}", f"- {url}\n- {long}",
        "A claim.[^1]", f"| {' | '.join('ABCDEFGH')} |\n|{'---|' * 8}\n| {cells} |", f"[^1]: {url} {long}",
    ]) + "\n"  # fmt: skip
    publication = _publication(seed, markdown)
    path = pdf.export(publication, tmp_path)
    verify(publication, registry.get("pdf"), path)  # split, every word still reads back whole

    boxes = _word_boxes(path)
    assert any("annexes" in word for *_, word in boxes)
    margin = MARGIN_X - 0.5  # points: what rounding may take
    outside = [(x_min, x_max, word) for width, x_min, x_max, word in boxes if x_min < margin or x_max > width - margin]
    assert not outside


def test_a_table_in_a_list_or_a_quote_is_shared_out_of_the_width_it_has(seed: Publication, tmp_path: Path) -> None:
    """A table's columns come out of the width it is given, less than the text's in a list item or
    a quote: it ran past the right margin there. And where its words cannot all be kept whole, every
    column keeps room for a character (found by hypothesis: empty columns beside a word as wide as
    the text were left narrower than their padding, and reportlab refused the table)."""
    long = "bohmjowzhbmsgqhmbiuamalcrvobpnjkvznbkijphisuurbuubbnrcisnklvtktdndsqrikoonaqbave"
    notes = "a longer note that wraps " * 3
    markdown = "\n".join([
        "- item", "  - inner", "", "    > | Name | Value | Note |", "    > |---|--:|---|",
        f"    > | alpha beta | 12 | {notes}|", "", "- another", "", "  |  |  |  |", "  |---|---|---|",
        f"  |  |  | 0 0 0 {long} |", "",
    ])  # fmt: skip
    publication = _publication(seed, markdown)
    path = pdf.export(publication, tmp_path)
    verify(publication, registry.get("pdf"), path)

    boxes = _word_boxes(path)
    assert any("alpha" in word for *_, word in boxes) and any("bohm" in word for *_, word in boxes)
    margin = MARGIN_X - 0.5  # points: what rounding may take
    assert not [word for width, x_min, x_max, word in boxes if x_min < margin or x_max > width - margin]
