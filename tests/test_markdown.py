"""Every construct the parser recognises is either in the model or reported (BK112), never left as text."""

from __future__ import annotations

from pathlib import Path

import pytest

from briefkit.markdown import parse_body
from briefkit.model import block_texts

CONSTRUCTS = {
    "a table": "| Option | Cost |\n|---|---:|\n| A | 10 |",
    "strikethrough": "Text ~~struck~~ here.",
    "a footnote reference": "A claim.[^1]\n\n[^1]: The source.",
    "a definition list": "Term\n: Its definition.",
    "raw HTML": "<div>block</div>",
    "an image": "![alt](figure.png)",
    "a fenced code block": "```\ncode\n```",
    "an indented code block": "    code",
    "a thematic break": "Above.\n\n***\n\nBelow.",
    "a hard line break": "First line  \nsecond line.",
    "a level-1 heading": "# Title again",
    "a level-4 heading": "#### Too deep",
}


@pytest.mark.parametrize("name", CONSTRUCTS)
def test_an_unsupported_construct_is_reported_on_its_line(name: str) -> None:
    body = "An opening paragraph.\n\n" + CONSTRUCTS[name] + "\n"
    blocks, diagnostics = parse_body(body, Path("p.md"), 10)
    assert [d.code for d in diagnostics][:1] == ["BK112"], diagnostics
    assert any(name in d.message for d in diagnostics), [d.message for d in diagnostics]
    assert diagnostics[0].line >= 12  # on the construct's lines, not the opening paragraph's
    text = " ".join(block_texts(blocks))
    assert "|---" not in text and "~~" not in text and "[^" not in text


def test_a_table_is_reported_once() -> None:
    _, diagnostics = parse_body(CONSTRUCTS["a table"] + "\n", Path("p.md"), 1)
    assert [(d.code, d.line) for d in diagnostics] == [("BK112", 1)]
