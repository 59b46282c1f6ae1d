"""Every construct the parser recognises is either in the model or reported (BK112), never left as text."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from briefkit.loader import load_publication
from briefkit.markdown import parse_body
from briefkit.model import (
    Code,
    Emph,
    Footnote,
    Inline,
    Link,
    NoteRef,
    Paragraph,
    Passage,
    Strong,
    Table,
    Text,
    block_texts,
    figures,
    inline_text,
    numbered,
    plain_text,
)
from tests.strategies import tables
from tests.test_validation import GOOD_YAML, write_publication

CONSTRUCTS = {
    "strikethrough": "Text ~~struck~~ here.",
    "an inline footnote": "A claim.^[The source.]",
    "a footnote that is not one paragraph": "A claim.[^1]\n\n[^1]: The source.\n\n    More of it.",
    "an image inside a paragraph": "Text ![alt](figure.png) text.",
    "a definition list": "Term\n: Its definition.",
    "raw HTML": "<div>block</div>",
    "a fenced code block": "```\ncode\n```",
    "an indented code block": "    code",
    "a thematic break": "Above.\n\n***\n\nBelow.",
    "a hard line break": "First line  \nsecond line.",
    "a level-1 heading": "# Title again",
    "a level-4 heading": "#### Too deep",
    "a heading with no text": "##",
    "a link with no text": "See [](https://example.org) or [ *&#32;* ](https://example.org) here.",
}


@pytest.mark.parametrize("name", CONSTRUCTS)
def test_an_unsupported_construct_is_reported_on_its_line(name: str) -> None:
    body = "An opening paragraph.\n\n" + CONSTRUCTS[name] + "\n"
    parsed = parse_body(body, Path("p.md"), 10, figure_file=lambda src: (Path(src), 1, 1))
    blocks, diagnostics = parsed.blocks, parsed.diagnostics
    assert [d.code for d in diagnostics][:1] == ["BK112"], diagnostics
    assert any(name in d.message for d in diagnostics), [d.message for d in diagnostics]
    assert diagnostics[0].line >= 12  # on the construct's lines, not the opening paragraph's
    text = " ".join(block_texts(blocks))
    assert "|---" not in text and "~~" not in text and "[^" not in text


def test_a_refused_footnote_is_reported_once_not_also_as_undefined() -> None:
    body = "A claim.[^1]\n\n[^1]: The source.\n\n    - a list in it\n"
    diagnostics = parse_body(body, Path("p.md"), 1).diagnostics
    assert [(d.code, d.line) for d in diagnostics] == [("BK112", 3)], diagnostics


def test_a_table_reads_with_its_alignment_inline_markup_and_caption() -> None:
    body = (
        "Above.\n\n| Option | **Cost** | Note |\n|:---|---:|:-:|\n| A `x` | 10 | a \\| b |\n\nTable: Costs *per year*\n"
    )
    parsed = parse_body(body, Path("p.md"), 1)
    assert not parsed.diagnostics
    table = parsed.blocks[1]
    assert isinstance(table, Table)
    assert table.aligns == ("left", "right", "center")
    assert table.header[1] == (Strong((Text("Cost"),)),)
    assert table.rows == (((Text("A "), Code("x")), (Text("10"),), (Text("a | b"),)),)
    assert table.caption == (Text("Costs "), Emph((Text("per year"),)))
    assert block_texts(parsed.blocks) == ["Above.", "Costs per year", "Option", "Cost", "Note", "A x", "10", "a | b"]


def test_footnotes_are_numbered_in_order_of_first_reference() -> None:
    body = "One[^b] two[^a] again[^b].\n\n[^a]: Note A.\n[^b]: Note *B*.\n"
    parsed = parse_body(body, Path("p.md"), 1)
    assert not parsed.diagnostics
    assert parsed.blocks == (
        Paragraph((Text("One"), NoteRef(1), Text(" two"), NoteRef(2), Text(" again"), NoteRef(1), Text("."))),
    )
    assert parsed.notes == (
        Footnote(1, (Text("Note "), Emph((Text("B"),)), Text("."))),
        Footnote(2, (Text("Note A."),)),
    )


@pytest.mark.parametrize(
    ("body", "code", "line", "column"),
    [
        ("Claim[^x].\n", "BK128", 10, 6),
        ("Claim.\n\n[^x]: Unused.\n", "BK129", 12, 1),
        ("Claim[^x].\n\n[^x]: One.\n\n[^x]: Two.\n", "BK130", 14, 1),
    ],
)
def test_footnote_mistakes_are_reported_with_file_and_line(body: str, code: str, line: int, column: int) -> None:
    diagnostics = parse_body(body, Path("p.md"), 10).diagnostics
    assert [(d.code, str(d.file), d.line, d.column) for d in diagnostics] == [(code, "p.md", line, column)]


def test_footnotes_and_figures_are_numbered_through_the_publication() -> None:
    def passage(n: int, body: str) -> Passage:
        parsed = parse_body(body, Path(f"{n}.md"), 1, figure_file=lambda src: (Path(src), 4, 3))
        assert not parsed.diagnostics
        return Passage(f"p{n}", "T", "", (), parsed.blocks, Path(f"{n}.md"), 1, notes=parsed.notes)

    first = passage(1, "A[^1] B[^2].\n\n![A chart](c.png)\n\n[^1]: One.\n[^2]: Two.\n")
    second = passage(2, 'C[^z].\n\n![A map](m.png "The map")\n\n[^z]: Three.\n')
    one, two = numbered((first, second))
    assert [n.number for n in two.notes] == [3] and two.blocks[0] == Paragraph((Text("C"), NoteRef(3), Text(".")))
    assert [f.number for f in figures(one.blocks) + figures(two.blocks)] == [1, 2]
    assert plain_text(two).split("\n") == ["T", "C3.", "A map", "Figure 2: The map", "3 Three."]


def test_an_image_needs_alt_text_unless_marked_decorative() -> None:
    found = lambda src: (Path(src), 4, 3)  # noqa: E731
    missing = parse_body("![](c.png)\n", Path("p.md"), 5, found).diagnostics
    assert [(d.code, d.line) for d in missing] == [("BK131", 5)]
    decorative = parse_body('![](c.png "decorative")\n', Path("p.md"), 5, found)
    assert not decorative.diagnostics
    assert block_texts(decorative.blocks) == ["Figure 1"]


_labels = st.sampled_from(["a", "b", "note-1", "x_2", "Ω"])


@settings(max_examples=60, deadline=None)
@given(refs=st.lists(_labels, max_size=6), defined=st.lists(_labels, unique=True, max_size=5))
def test_any_footnotes_are_numbered_or_reported(refs: list[str], defined: list[str]) -> None:
    text = "Claims" + "".join(f" and[^{label}]" for label in refs) + ".\n\n"
    body = text + "".join(f"[^{label}]: Note {label}.\n" for label in defined)
    parsed = parse_body(body, Path("p.md"), 1)
    first_use = list(dict.fromkeys(refs))
    assert sorted(d.code for d in parsed.diagnostics) == sorted(
        ["BK128"] * len(set(refs) - set(defined)) + ["BK129"] * len(set(defined) - set(refs))
    )
    numbers = [n.number for n in parsed.blocks[0].children if isinstance(n, NoteRef)]
    assert numbers == [first_use.index(label) + 1 for label in refs]
    assert [inline_text(n.children) for n in parsed.notes] == [
        f"Note {label}." for label in first_use if label in defined
    ]


@settings(max_examples=60, deadline=None)
@given(table=tables())
def test_any_table_reads_back_from_its_markdown(table: Table) -> None:
    def cell(kids: tuple[Inline, ...]) -> str:
        return inline_text(kids).replace("\\", "\\\\").replace("|", "\\|")

    def row(cells: tuple[tuple[Inline, ...], ...]) -> str:
        return "| " + " | ".join(cell(c) for c in cells) + " |\n"

    rule = {"": "---", "left": ":--", "center": ":-:", "right": "--:"}
    source = row(table.header) + "|" + "|".join(rule[a] for a in table.aligns) + "|\n"
    source += "".join(row(r) for r in table.rows)
    parsed = parse_body(source, Path("p.md"), 1)
    (read,) = parsed.blocks
    assert isinstance(read, Table) and read.aligns == table.aligns
    assert len(read.header) == len(table.header) and len(read.rows) == len(table.rows)


def test_an_image_in_a_footnote_is_no_figure_and_takes_no_number() -> None:
    found = lambda src: (Path(src), 4, 3)  # noqa: E731
    parsed = parse_body("A claim.[^1]\n\n[^1]: ![alt](a.png)\n\n![A chart](c.png)\n", Path("p.md"), 1, found)
    assert [(d.code, d.line) for d in parsed.diagnostics] == [("BK112", 3)]
    assert "an image inside a paragraph" in parsed.diagnostics[0].message
    assert [f.number for f in figures(parsed.blocks)] == [1]


def test_a_figure_path_is_the_file_name_as_written() -> None:
    asked: list[str] = []

    def found(src: str) -> tuple[Path, int, int]:
        asked.append(src)
        return Path(src), 4, 3

    body = "![Карта](figures/карта.png)\n\n![A chart](<figures/my chart.png>)\n"
    assert not parse_body(body, Path("p.md"), 1, found).diagnostics
    assert asked == ["figures/карта.png", "figures/my chart.png"]


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ("|" + " c |" * 11 + "\n|" + "---|" * 11 + "\n", "a table of 11 columns, over the limit of 10"),
        (
            "| A | B |\n|---|---|\n| x | " + "y" * 401 + " |\n",
            "a table cell of 401 characters, over the limit of 400",
        ),
    ],
)
def test_a_table_too_large_for_a_page_is_reported(table: str, message: str) -> None:
    diagnostics = parse_body("Intro.\n\n" + table, Path("p.md"), 1).diagnostics
    assert [(d.code, d.line) for d in diagnostics] == [("BK133", 3 if "columns" in message else 5)]
    assert message in diagnostics[0].message


def test_typography_sets_quotes_dashes_and_ellipses_but_not_in_code_or_urls() -> None:
    body = (
        '"Aid" isn\'t \'late\' -- pages 10--20 --- so... `a--b "c"` [a "link"](https://x.org/a--b)'
        " <https://x.org/c--d> https://x.org/e--f's (a) (b) (c)\n"
    )
    smart = parse_body(body, Path("p.md"), 1, smart=True)
    assert not smart.diagnostics
    assert smart.blocks == (
        Paragraph((
            Text("“Aid” isn’t ‘late’ – pages 10–20 — so… "), Code('a--b "c"'), Text(" "),
            Link("https://x.org/a--b", (Text("a “link”"),)), Text(" "),
            Link("https://x.org/c--d", (Text("https://x.org/c--d"),)), Text(" https://x.org/e--f's (a) (b) (c)"),
        )),
    )  # fmt: skip
    plain = '"Aid" isn\'t \'late\' -- pages 10--20 --- so... a--b "c" a "link" https://x.org/c--d'
    assert block_texts(parse_body(body, Path("p.md"), 1).blocks) == [plain + " https://x.org/e--f's (a) (b) (c)"]


def test_a_publication_is_typeset_unless_its_theme_says_plain(tmp_path: Path) -> None:
    passage = '---\ntitle: Kyiv\'s "line"\nsummary: Aid -- late...\n---\nIt\'s "done".\n'
    smart, diagnostics = load_publication(write_publication(tmp_path / "smart", passages={"010-a.md": passage}))
    assert smart is not None, diagnostics
    assert plain_text(smart.passages[0]) == "Kyiv’s “line”\nIt’s “done”."
    assert smart.passages[0].summary == "Aid – late…"
    yaml_text = GOOD_YAML + "theme:\n  typography: plain\n"
    plain, diagnostics = load_publication(write_publication(tmp_path / "plain", yaml_text, {"010-a.md": passage}))
    assert plain is not None, diagnostics
    assert plain_text(plain.passages[0]) == 'Kyiv\'s "line"\nIt\'s "done".'
    assert plain.passages[0].summary == "Aid -- late..."
