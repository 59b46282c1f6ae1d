"""Every construct the Markdown parser knows is either rendered by all three formats or rejected.

The samples are keyed by markdown-it's rule names, so a rule that a new plugin or version
brings fails ``test_every_parser_rule_has_samples`` until it is given a sample and a verdict.
What is rendered is read back, table cells, footnotes, alt text and captions included.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from briefkit.markdown import SMART_PARSER, parse_body
from briefkit.model import Publication, Table, Text, figures
from exporters import registry
from exporters.verify import compare, verify
from tests.samples import briefing

RENDERED, REJECTED = True, False
# rule name -> (Markdown, whether it is rendered); a rule may have several samples
SAMPLES: dict[str, list[tuple[str, bool]]] = {
    "table": [("| Name | **Cost** |\n|:--|--:|\n| A `x` | 10 |\n\nTable: Costs", RENDERED)],
    "code": [("    indented code", REJECTED)],
    "fence": [("```\nfenced code\n```", REJECTED), ("~~~\nfenced code\n~~~", REJECTED)],
    "blockquote": [("> A *quoted* line.", RENDERED)],
    "hr": [("Above.\n\n---\n\nBelow.", REJECTED)],
    "list": [("- a bullet\n- another", RENDERED), ("3. third\n4. fourth", RENDERED)],
    "footnote_def": [("A claim.[^src]\n\n[^src]: The *source*.", RENDERED)],
    "reference": [("A [reference link][ref].\n\n[ref]: https://example.org/ref", RENDERED)],
    "html_block": [("<div>block</div>", REJECTED), ("<!-- a comment -->", REJECTED)],
    "heading": [("## Second level", RENDERED), ("### Third level", RENDERED), ("# First level", REJECTED),
                ("#### Fourth level", REJECTED)],
    "lheading": [("Setext second level\n---", RENDERED), ("Setext first level\n===", REJECTED)],
    "deflist": [("Term\n: Its definition.", REJECTED)],
    "paragraph": [("A plain paragraph.", RENDERED)],
    "text": [("Plain text, digits 123 and punctuation!", RENDERED)],
    "newline": [("A soft\nline break.", RENDERED), ("A hard  \nline break.", REJECTED),
                ("A hard\\\nline break.", REJECTED)],
    "escape": [("Escaped \\*stars\\* and \\[brackets\\].", RENDERED)],
    "backticks": [("Some `inline code`.", RENDERED)],
    "strikethrough": [("Some ~~struck~~ text.", REJECTED)],
    "emphasis": [("Some *emphasis*, _more_, **strong** and __strong__.", RENDERED)],
    "link": [("A [link](https://example.org/a?b=1&c=2 \"title\").", RENDERED)],
    "image": [('![A bar chart](figures/pledges.png "Pledges")', RENDERED), ("Inline ![a chart](figures/pledges.png) image.", REJECTED)],
    "footnote_inline": [("An inline note.^[Its text.]", REJECTED)],
    "footnote_ref": [("Cited twice.[^twice] Again.[^twice]\n\n[^twice]: The note.", RENDERED)],
    "autolink": [("An autolink <https://example.org/auto>.", RENDERED)],
    "html_inline": [("Some <b>raw</b> HTML.", REJECTED)],
    "entity": [("Entities: &amp; &copy; &#x41;.", RENDERED)],
    "smartquotes": [("\"Double\", 'single' and Kyiv's apostrophe.", RENDERED)],
    "dashes": [("En -- dash, 10--20, em---dash, an ellipsis...", RENDERED)],
    "bare_urls": [("A bare https://example.org/a--b's \"address\".", RENDERED)],
}  # fmt: skip
# rules that are steps of the parser, not constructs an editor writes
_MACHINERY = {"normalize", "block", "inline", "text_join", "balance_pairs", "fragments_join"}


def _samples(rendered: bool) -> list[str]:
    return [md for samples in SAMPLES.values() for md, verdict in samples if verdict is rendered]


def test_every_parser_rule_has_samples() -> None:
    rulers = (SMART_PARSER.core.ruler, SMART_PARSER.block.ruler, SMART_PARSER.inline.ruler, SMART_PARSER.inline.ruler2)
    active = {name for ruler in rulers for name in ruler.get_active_rules()} - _MACHINERY
    assert active <= set(SAMPLES), f"give these rules samples: {sorted(active - set(SAMPLES))}"


@pytest.mark.parametrize("markdown", _samples(REJECTED))
def test_a_construct_no_format_renders_is_rejected(markdown: str, tmp_path: Path) -> None:
    diagnostics = parse_body(
        f"Opening.\n\n{markdown}\n", Path("p.md"), 1, lambda src: (tmp_path / src, 8, 4)
    ).diagnostics
    assert "BK112" in [d.code for d in diagnostics], diagnostics


@pytest.mark.slow
@pytest.mark.parametrize("name", registry.names())
def test_every_other_construct_is_rendered_and_read_back_by_every_format(
    name: str, seed: Publication, tmp_path: Path
) -> None:
    publication = briefing(seed, tmp_path / "source", "\n\n".join(_samples(RENDERED)) + "\n", smart=True)
    exporter = registry.get(name)
    verify(publication, exporter, exporter.export(publication, tmp_path))  # and the format's own check
    read = " ".join(body for _, body in exporter.read_back(tmp_path / exporter.format.filename(publication)))
    assert "“Double”, ‘single’ and Kyiv’s" in read and "En – dash, 10–20, em—dash, an ellipsis…" in read
    assert "https://example.org/a--b's “address”" in read


def _changed(publication: Publication, change: str) -> Publication:
    """``publication`` with one piece of the briefing passage's table, notes or figure changed."""
    aid = publication.passages[1]
    table, figure = next(b for b in aid.blocks if isinstance(b, Table)), figures(aid.blocks)[0]
    blocks, notes = list(aid.blocks), aid.notes
    if change == "table cell":
        blocks[blocks.index(table)] = dataclasses.replace(
            table, rows=((table.rows[0][0], (Text("99.9"),), *table.rows[0][2:]), *table.rows[1:])
        )
    elif change == "table caption":
        blocks[blocks.index(table)] = dataclasses.replace(table, caption=(Text("Another caption"),))
    elif change == "footnote text":
        notes = (dataclasses.replace(notes[0], children=(Text("Another source."),)), *notes[1:])
    elif change == "alt text":
        blocks[blocks.index(figure)] = dataclasses.replace(figure, alt="Another description")
    elif change == "figure caption":
        blocks[blocks.index(figure)] = dataclasses.replace(figure, caption=(Text("Another caption"),))
    passage = dataclasses.replace(aid, blocks=tuple(blocks), notes=notes)
    return dataclasses.replace(publication, passages=(publication.passages[0], passage, *publication.passages[2:]))


@pytest.mark.parametrize("name", registry.names())
def test_the_read_back_compares_cells_notes_alt_text_and_captions(name: str, seed: Publication, tmp_path: Path) -> None:
    publication = briefing(seed, tmp_path / "source")
    exporter = registry.get(name)
    read = exporter.read_back(exporter.export(publication, tmp_path))
    assert compare(publication, read) == []
    for change in ("table cell", "table caption", "footnote text", "alt text", "figure caption"):
        assert compare(_changed(publication, change), read), f"{name}: a changed {change} went unnoticed"


@pytest.mark.parametrize("name", registry.names())
@pytest.mark.parametrize(
    ("language", "label"),
    [("fr-CA", "Figure 1 : Pledges by donor"), ("de", "Abbildung 1: Pledges by donor")],
)
def test_the_figure_label_is_in_the_publications_language(
    name: str, language: str, label: str, seed: Publication, tmp_path: Path
) -> None:
    publication = dataclasses.replace(briefing(seed, tmp_path / "source"), language=language)
    exporter = registry.get(name)
    read = exporter.read_back(exporter.export(publication, tmp_path))
    assert compare(publication, read) == []
    body = " ".join(read[1][1].split())  # French's no-break space before the colon as a space
    assert label in body and "Figure 1: " not in body
