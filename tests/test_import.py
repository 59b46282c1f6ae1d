"""`briefkit import`: plain text in, a valid publication out, every passage text byte for byte."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from briefkit.importer import escape_markdown
from briefkit.loader import is_forbidden_char, load_publication
from briefkit.markdown import parse_body, smarten
from briefkit.model import block_texts
from briefkit.word_import import IMPORT_MAX_UNPACKED
from flows.cli import app

SEED_TEXT = Path(__file__).resolve().parents[2] / "shared" / "seed" / "passages.txt"
runner = CliRunner()
BRIEFKIT = str(Path(sys.executable).with_name("briefkit"))


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
        assert block_texts(passage.blocks) == [smarten(line)]  # byte for byte, but for typographic quotes
        assert passage.provisional_title
        assert smarten(line).startswith(passage.title.rstrip("…"))


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
        str.__add__,
        st.sampled_from(["", "# ", "1. ", "12) ", "- ", "+ ", "> ", "=", "* ", "<", "&amp;", "`", "~~"]),
        _line,
    ).filter(lambda s: s == s.strip())
)
def test_escaped_text_reads_back_exactly(line: str) -> None:
    """Whatever a line says, Markdown gives back the same text after escape_markdown."""
    body = parse_body(escape_markdown(line) + "\n", Path("x.md"), 1)
    blocks, diagnostics = body.blocks, body.diagnostics
    assert not diagnostics
    assert block_texts(blocks) == [line]


@pytest.mark.parametrize(
    "line",
    [
        "# not a heading",
        "1. not a list",
        "- nor this",
        "> nor a quote",
        "*a* <b>&amp;</b> [x](y) `c` \\",
        "~~not struck~~ ~x~",
    ],
)
def test_markdown_syntax_in_imported_text_is_literal(line: str) -> None:
    body = parse_body(escape_markdown(line), Path("x.md"), 1)
    blocks, diagnostics = body.blocks, body.diagnostics
    assert not diagnostics and block_texts(blocks) == [line]


# ---- Word documents --------------------------------------------------------------------------


def word_document(path: Path) -> None:
    """A briefing as an editor writes it in Word: a title, headings, runs, a link, lists and a table."""
    import docx
    from docx.opc.constants import RELATIONSHIP_TYPE
    from docx.oxml.parser import parse_xml

    document = docx.Document()
    document.add_paragraph("Weekly brief", style="Title")
    document.add_paragraph("Before any heading: an opening note.")
    document.add_heading("Support for Ukraine", level=1)
    intro = document.add_paragraph("Aid is ")
    intro.add_run("growing").bold = True
    intro.add_run(" and ")
    intro.add_run("steady").italic = True
    intro.add_run(", see ")
    rid = document.part.relate_to("https://example.org/a?b=1&c=2", RELATIONSHIP_TYPE.HYPERLINK, is_external=True)
    intro._p.append(
        parse_xml(
            f'<w:hyperlink xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main" '
            f'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships" r:id="{rid}">'
            "<w:r><w:t>the report</w:t></w:r></w:hyperlink>"
        )
    )
    intro.add_run(".")
    document.add_paragraph("first point", style="List Bullet")
    document.add_paragraph("second point", style="List Bullet")
    document.add_heading("Costs", level=2)
    document.add_paragraph("step one", style="List Number")
    document.add_paragraph("step two", style="List Number")
    table = document.add_table(rows=2, cols=2)
    for cell, text in zip(table._cells, ["Option", "Cost", "A | B", "10"]):
        cell.text = text
    document.add_heading("Markup as text", level=1)
    document.add_paragraph("1. Not a list: <b>, & [x] *y* # and a back\\slash.")
    document.save(str(path))


def test_import_of_a_word_document_keeps_its_passages_structure_and_text(tmp_path: Path) -> None:
    source = tmp_path / "brief.docx"
    word_document(source)
    into = tmp_path / "source" / "weekly"
    result = runner.invoke(app, ["import", str(source), "--into", str(into)])
    assert result.exit_code == 0, result.output
    assert "title: Weekly brief" in (into / "publication.yaml").read_text(encoding="utf-8")
    _, diagnostics = load_publication(into)
    errors = {d.code for d in diagnostics if d.is_error}
    assert errors == set(), diagnostics  # the table comes over as a Markdown table
    files = sorted((into / "passages").glob("*.md"))
    texts = [f.read_text(encoding="utf-8") for f in files]
    assert len(files) == 3 and "provisional_title: true" in texts[0]  # the opening note had no heading
    assert "title: Support for Ukraine" in texts[1] and "provisional_title" not in texts[1]
    body = texts[1].split("---\n", 2)[2]
    assert "Aid is **growing** and *steady*, see [the report](https://example.org/a?b=1&c=2)." in body
    assert "- first point\n- second point" in body and "## Costs" in body and "1. step one\n1. step two" in body
    assert "| Option | Cost |" in body and "A \\| B" in body
    body = parse_body(texts[2].split("---\n", 2)[2], Path("x.md"), 1)
    blocks, problems = body.blocks, body.diagnostics
    assert not problems
    assert block_texts(blocks) == ["1. Not a list: <b>, & [x] *y* # and a back\\slash."]


def test_import_of_a_file_that_is_not_a_word_document_is_a_usage_error(tmp_path: Path) -> None:
    broken = tmp_path / "broken.docx"
    broken.write_bytes(b"PK\x03\x04 not really a zip")
    result = runner.invoke(app, ["import", str(broken), "--into", str(tmp_path / "source" / "x")])
    assert result.exit_code == 2 and "is not a Word document" in result.output


def test_a_word_document_that_unpacks_past_the_limit_is_refused_before_it_is_read(tmp_path: Path) -> None:
    """A zip bomb: a few hundred kilobytes whose text inflates past what python-docx should hold."""
    word_document(tmp_path / "real.docx")
    bomb = tmp_path / "bomb.docx"
    with zipfile.ZipFile(tmp_path / "real.docx") as real, zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as out:
        for entry in real.infolist():
            if entry.filename != "word/document.xml":
                out.writestr(entry, real.read(entry))
                continue
            with out.open("word/document.xml", "w", force_zip64=True) as xml:
                xml.write(
                    b'<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>'
                )
                for _ in range(IMPORT_MAX_UNPACKED // (1 << 20) + 1):
                    xml.write(b"<w:p><w:r><w:t>" + b"x" * (1 << 20) + b"</w:t></w:r></w:p>")
                xml.write(b"</w:body></w:document>")
    assert bomb.stat().st_size < IMPORT_MAX_UNPACKED // 100
    # the command's peak memory, read by a parent of its own: this process's own peak would count
    measure = (
        "import resource, subprocess, sys; done = subprocess.run(sys.argv[1:], capture_output=True, text=True); "
        "print(done.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); print(done.stderr)"
    )
    command = [BRIEFKIT, "import", str(bomb), "--into", str(tmp_path / "source" / "x")]
    out = subprocess.run([sys.executable, "-c", measure, *command], capture_output=True, text=True, check=True).stdout
    status, peak_kib = map(int, out.split("\n")[0].split())
    assert status == 2 and "the limit" in out and "split the document" in out and "Traceback" not in out, out
    assert peak_kib < 200 * 1024, out  # not the document's hundreds of megabytes
    assert not (tmp_path / "source" / "x").exists()
