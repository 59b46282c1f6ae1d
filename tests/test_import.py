"""`briefkit import`: plain text in, a valid publication out, every passage text byte for byte."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from briefkit.importer import escape_markdown
from briefkit.loader import is_forbidden_char, load_publication
from briefkit.markdown import parse_body
from briefkit.model import block_texts
from flows.cli import app

SEED_TEXT = Path(__file__).resolve().parents[2] / "shared" / "seed" / "passages.txt"
runner = CliRunner()


def seed_text() -> str:
    if SEED_TEXT.is_file():
        return SEED_TEXT.read_text(encoding="utf-8")
    # The repository keeps the same text as the seed publication's passage bodies.
    root = Path(__file__).resolve().parents[1] / "source" / "support-for-ukraine" / "passages"
    return "\n".join(p.read_text(encoding="utf-8").split("---\n", 2)[2].rstrip("\n") for p in sorted(root.glob("*.md")))


def test_import_round_trip(tmp_path: Path) -> None:
    text = seed_text()
    src = tmp_path / "passages.txt"
    src.write_text(text, encoding="utf-8")
    into = tmp_path / "source" / "imported"
    result = runner.invoke(app, ["import", str(src), "--into", str(into), "--title", "Imported"])
    assert result.exit_code == 0, result.output

    validated = runner.invoke(app, ["validate", str(into), "--format", "json"])
    assert validated.exit_code == 0  # warnings only
    codes = {d["code"] for d in json.loads(validated.stdout)}
    assert "BK206" in codes  # provisional titles need an editor

    publication, _ = load_publication(into)
    assert publication is not None
    lines = [line for line in text.split("\n") if line.strip()]
    assert len(publication.passages) == len(lines) == 10
    for passage, line in zip(publication.passages, lines):
        assert block_texts(passage.blocks) == [line]  # byte for byte
        assert passage.provisional_title
        assert line.startswith(passage.title.rstrip("…"))


def test_import_splits_paragraphs_when_there_are_blank_lines(tmp_path: Path) -> None:
    src = tmp_path / "in.txt"
    src.write_text("First para\nstill first.\n\nSecond para.\n", encoding="utf-8")
    into = tmp_path / "pub"
    assert runner.invoke(app, ["import", str(src), "--into", str(into), "--title", "T"]).exit_code == 0
    publication, _ = load_publication(into)
    assert publication is not None
    assert [block_texts(p.blocks) for p in publication.passages] == [["First para still first."], ["Second para."]]


def test_import_refuses_bad_input_without_traceback(tmp_path: Path) -> None:
    src = tmp_path / "bad.txt"
    src.write_bytes(b"fine line\n\xff\xfe broken\n")
    result = runner.invoke(app, ["import", str(src), "--into", str(tmp_path / "pub"), "--title", "T"])
    assert result.exit_code == 1
    assert "BK103" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "pub").exists()

    existing = tmp_path / "existing"
    existing.mkdir()
    (existing / "keep.txt").write_text("x")
    src.write_text("ok\n")
    result = runner.invoke(app, ["import", str(src), "--into", str(existing), "--title", "T"])
    assert result.exit_code == 2
    assert (existing / "keep.txt").read_text() == "x"


_line = st.text(
    st.characters(codec="utf-8").filter(lambda c: not is_forbidden_char(c) and c not in "\n\r"), min_size=1, max_size=80
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.builds(
        str.__add__, st.sampled_from(["", "# ", "1. ", "12) ", "- ", "+ ", "> ", "=", "* ", "<", "&amp;", "`"]), _line
    ).filter(lambda s: s == s.strip())
)
def test_escaped_text_reads_back_exactly(line: str) -> None:
    """Whatever a line says, Markdown gives back the same text after escape_markdown."""
    blocks, diagnostics = parse_body(escape_markdown(line) + "\n", Path("x.md"), 1)
    assert not diagnostics
    assert block_texts(blocks) == [line]


@pytest.mark.parametrize(
    "line", ["# not a heading", "1. not a list", "- nor this", "> nor a quote", "*a* <b>&amp;</b> [x](y) `c` \\"]
)
def test_markdown_syntax_in_imported_text_is_literal(line: str) -> None:
    blocks, diagnostics = parse_body(escape_markdown(line), Path("x.md"), 1)
    assert not diagnostics and block_texts(blocks) == [line]
