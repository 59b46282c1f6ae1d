"""The rule catalogue: one broken publication per rule, checked for code, file, line and exit status."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from briefkit.diagnostics import RULES, Severity
from briefkit.loader import load_publication
from briefkit.model import figures
from exporters import registry
from exporters.verify import verify
from flows.cli import app
from tests.conftest import SEED
from tests.samples import BRIEFING_BODY, chart_png

GOOD_YAML = "title: Test publication\nlanguage: en\n"
GOOD_PASSAGE = "---\ntitle: A passage\nsummary: One sentence.\n---\nSome text here.\n"


def write_publication(
    root: Path, yaml_text: str | bytes | None = GOOD_YAML, passages: dict[str, str | bytes] | None = None
) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    if yaml_text is not None:
        data = yaml_text.encode() if isinstance(yaml_text, str) else yaml_text
        (root / "publication.yaml").write_bytes(data)
    if passages is None:
        passages = {"010-first.md": GOOD_PASSAGE}
    (root / "passages").mkdir(exist_ok=True)
    for name, content in passages.items():
        (root / "passages" / name).write_bytes(content.encode() if isinstance(content, str) else content)
    return root


def passage(body: str, front: str = "title: A passage\nsummary: One sentence.\n") -> str:
    return f"---\n{front}---\n{body}"


@dataclass(frozen=True)
class Case:
    code: str
    file: str  # relative to the publication dir ("" = the dir itself)
    line: int
    yaml_text: str | bytes | None = GOOD_YAML
    passages: dict[str, str | bytes] | None = None
    column: int | None = None
    settings_env: dict[str, str] = field(default_factory=dict)
    in_message: str = ""


CASES = [
    Case("BK101", "publication.yaml", 0, yaml_text=None),
    Case("BK102", "publication.yaml", 3, yaml_text="title: x\nauthors: [a, b\nlanguage: en\n: :\n"),
    Case(
        "BK102",
        "passages/010-first.md",
        3,
        passages={"010-first.md": "---\ntitle: x\nsummary: [unclosed\n---\nBody.\n"},
    ),
    Case(
        "BK103",
        "passages/010-first.md",
        5,
        passages={"010-first.md": b"---\ntitle: x\nsummary: y\n---\nCaf\xe9 au lait.\n"},
        column=4,
        in_message="offset 31",
    ),
    Case(
        "BK104",
        "passages/010-first.md",
        5,
        passages={"010-first.md": passage("Bell \x07 here.\n")},
        column=6,
        in_message="U+0007",
    ),
    Case("BK105", "publication.yaml", 2, yaml_text="title: x\ntitel: y\n", in_message="titel"),
    Case("BK105", "passages/010-first.md", 3, passages={"010-first.md": passage("Body.\n", "title: x\nsumary: y\n")}),
    Case("BK106", "passages/010-first.md", 2, passages={"010-first.md": passage("Body.\n", "summary: y\n")}),
    Case("BK106", "publication.yaml", 1, yaml_text="title: ''\n"),
    Case("BK107", "passages/010-first.md", 5, passages={"010-first.md": passage("\n\n")}),
    Case(
        "BK108",
        "passages/020-second.md",
        1,
        passages={
            "010-first.md": passage("A.\n", "title: x\nsummary: y\nid: same\n"),
            "020-second.md": passage("B.\n", "title: x\nsummary: y\nid: same\n"),
        },
    ),
    Case(
        "BK109",
        "passages/010-first.md",
        4,
        passages={"010-first.md": passage("A.\n", "title: x\nsummary: y\nid: Bad_Id\n")},
    ),
    Case(
        "BK109",
        "passages/010-first.md",
        4,
        passages={"010-first.md": passage("A.\n", "title: x\nsummary: y\nid: ../escape\n")},
    ),
    Case("BK110", "publication.yaml", 4, yaml_text="title: x\npassages:\n  - first\n  - nowhere\n"),
    Case(
        "BK111",
        "passages/020-second.md",
        1,
        yaml_text="title: x\npassages: [first]\n",
        passages={"010-first.md": GOOD_PASSAGE, "020-second.md": GOOD_PASSAGE},
    ),
    Case(
        "BK112",
        "passages/010-first.md",
        6,
        passages={"010-first.md": passage("Text.\n<div>raw</div>\n")},
        in_message="raw HTML",
    ),
    Case(
        "BK112",
        "passages/010-first.md",
        7,
        passages={"010-first.md": passage("Text.\n\nAn ![image](x.png) here.\n")},
        in_message="image",
    ),
    Case(
        "BK112",
        "passages/010-first.md",
        5,
        passages={"010-first.md": passage("# Top heading\n\nText.\n")},
        in_message="level-1 heading",
    ),
    Case(
        "BK112",
        "passages/010-first.md",
        7,
        passages={"010-first.md": passage("Text.\n\n```\ncode\n```\n")},
        in_message="fenced code",
    ),
    Case(
        "BK113", "passages/010-first.md", 5, passages={"010-first.md": passage("See [this](ftp://example.org/file).\n")}
    ),
    # inline constructs carry no line of their own: each is found on its line of the paragraph
    Case(
        "BK112",
        "passages/010-first.md",
        8,
        passages={"010-first.md": passage("Text.\n\nOne line,\nthen a break\\\nand more.\n")},
        column=13,
        in_message="hard line break",
    ),
    Case(
        "BK112",
        "passages/010-first.md",
        7,
        passages={"010-first.md": passage("A paragraph\nover lines\nwith <b>html</b>.\n")},
        column=6,
        in_message="raw HTML",
    ),
    Case(
        "BK113",
        "passages/010-first.md",
        6,
        passages={"010-first.md": passage("See\n[this](ftp://x.org) link.\n")},
        column=8,
    ),
    Case(
        "BK114",
        "passages/010-first.md",
        0,
        passages={"010-first.md": passage("word " * 300 + "\n")},
        settings_env={"BRIEFKIT_MAX_FILE_BYTES": "1000"},
    ),
    Case("BK115", "", 0, passages={}),
    Case("BK116", "publication.yaml", 2, yaml_text="title: x\nlanguage: not a tag!\n"),
    Case("BK116", "publication.yaml", 3, yaml_text="title: x\ntheme:\n  primary_color: red\n"),
    Case("BK116", "publication.yaml", 3, yaml_text="title: x\ntheme:\n  typography: curly\n", in_message="smart or plain"),
    Case("BK116", "publication.yaml", 2, yaml_text="title: x\nschedule: '61 * * * *'\n", in_message="bad minute"),
    Case("BK116", "publication.yaml", 2, yaml_text="title: x\nschedule: '@daily'\n", in_message="where cron has five"),
    Case("BK117", "passages/010-first.md", 1, passages={"010-first.md": "No front matter here.\n"}),
    Case("BK118", "publication.yaml", 3, yaml_text="title: x\ntheme:\n  logo: missing.png\n"),
    Case(
        "BK119",
        "publication.yaml",
        3,
        yaml_text="title: x\ntheme:\n  logo: passages/logo.png\n",
        passages={"010-first.md": GOOD_PASSAGE, "logo.png": "not an image"},
        in_message="not a PNG or JPEG",
    ),
    Case("BK120", "publication.yaml", 3, yaml_text="title: x\nreaders:\n  - address: not-an-address\n"),
    Case(
        "BK121",
        "publication.yaml",
        4,
        yaml_text="title: x\nreaders:\n  - address: a@example.org\n    formats: [pdf, rtf]\n",
    ),
    Case(
        "BK122",
        "publication.yaml",
        4,
        yaml_text="title: x\nreaders:\n  - address: a@example.org\n  - address: A@example.org\n",
    ),
    Case("BK123", "publication.yaml", 3, yaml_text="title: x\nreaders:\n  - name: Nobody\n"),
    Case(
        "BK124",
        "publication.yaml",
        1,
        yaml_text="title: Weekly =?utf-8?q?brief=0D=0AReply-To:_attacker@evil.example?=\n",
        in_message="=?utf-8?q?",
    ),
    Case("BK125", "publication.yaml", 1, yaml_text="title: Brief \u202egnp.exe\n", in_message="U+202E"),
    Case("BK126", "publication.yaml", 1, yaml_text="title: " + "x" * 201 + "\n", in_message="limit of 200"),
    Case("BK127", "publication.yaml", 3, yaml_text="title: x\ntheme:\n  logo: /etc/passwd\n", in_message="outside"),
    Case("BK134", "publication.yaml", 2, yaml_text="title: x\ntimezone: Mars/Olympus\n", in_message="IANA"),
    Case("BK135", "publication.yaml", 4, yaml_text="title: x\ntheme:\n  primary_color: '#1F3A5F'\n  accent_color: '#FF9900'\n", in_message="2.1:1"),
    Case("BK201", "passages/010-first.md", 5, passages={"010-first.md": passage("This " + "word " * 45 + "ends.\n")}),
    Case("BK202", "passages/010-first.md", 5, passages={"010-first.md": passage("Short sentence here. " * 140 + "\n")}),
    Case("BK203", "passages/010-first.md", 5, passages={"010-first.md": passage("It was the the best.\n")}, column=12),
    Case(
        "BK204", "passages/010-first.md", 6, passages={"010-first.md": passage("Fine line.\nTwo  spaces.\n")}, column=4
    ),
    Case("BK205", "passages/010-first.md", 1, passages={"010-first.md": passage("Body.\n", "title: x\n")}),
    Case(
        "BK206",
        "passages/010-first.md",
        1,
        passages={"010-first.md": passage("Body.\n", "title: x\nsummary: y\nprovisional_title: true\n")},
    ),
    Case("BK207", "passages/010-first.md", 6, passages={"010-first.md": passage("Fine.\nA 漢 character.\n")}, column=3),
    Case("BK128", "passages/010-first.md", 6, passages={"010-first.md": passage("Fine.\nA claim.[^src]\n")}, column=9),
    Case("BK129", "passages/010-first.md", 7, passages={"010-first.md": passage("Fine.\n\n[^src]: A source.\n")}),
    Case(
        "BK130", "passages/010-first.md", 9,
        passages={"010-first.md": passage("A claim.[^a]\n\n[^a]: One.\n\n[^a]: Two.\n")}, in_message="[^a]",
    ),
    Case("BK131", "passages/010-first.md", 7, passages={"010-first.md": passage("Fine.\n\n![](chart.png)\n")}),
    Case(
        "BK133", "passages/010-first.md", 9, in_message="a table cell of 401 characters",
        passages={"010-first.md": passage("Fine.\n\n| A | B |\n|---|---|\n| x | " + "y" * 401 + " |\n")},
    ),
    Case(
        "BK132", "passages/010-first.md", 7, in_message="not a PNG or JPEG",
        passages={"010-first.md": passage("Fine.\n\n![A chart](passages/chart.gif)\n"), "chart.gif": b"GIF89a" + bytes(40)},
    ),
]  # fmt: skip


def case_id(case: Case) -> str:
    return f"{case.code}-{case.file.rsplit('/', 1)[-1] or 'dir'}-{case.line}"


runner = CliRunner()


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_rule_catalogue(case: Case, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in case.settings_env.items():
        monkeypatch.setenv(key, value)
    root = write_publication(tmp_path / "pub", case.yaml_text, case.passages)
    result = runner.invoke(app, ["validate", str(root), "--format", "json"])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    diagnostics = json.loads(result.stdout)
    matching = [d for d in diagnostics if d["code"] == case.code]
    assert matching, f"expected {case.code}, got {diagnostics}"
    found = matching[0]
    assert Path(found["file"]) == (root / case.file if case.file else root)
    assert found["line"] == case.line, found
    if case.column is not None:
        assert found["column"] == case.column, found
    assert case.in_message in found["message"]
    assert found["hint"], "every diagnostic says how to fix it"
    expected_exit = 1 if RULES[case.code].severity is Severity.ERROR else 0
    assert result.exit_code == expected_exit
    assert "Traceback" not in result.output
    # --strict turns warnings into failures too
    strict = runner.invoke(app, ["validate", str(root), "--strict", "--format", "json"])
    assert strict.exit_code == 1


def test_every_rule_has_a_case() -> None:
    assert {c.code for c in CASES} >= set(RULES) - {"BK100"}


def test_not_a_directory(tmp_path: Path) -> None:
    result = runner.invoke(app, ["validate", str(tmp_path / "nope"), "--format", "json"])
    assert result.exit_code == 1
    assert [d["code"] for d in json.loads(result.stdout)] == ["BK100"]


def test_unknown_key_suggests_the_right_one(tmp_path: Path) -> None:
    root = write_publication(tmp_path / "pub", "title: x\nsubtitel: y\n")
    _, diagnostics = load_publication(root)
    assert "did you mean 'subtitle'?" in diagnostics[0].hint


def test_seed_publication_is_clean() -> None:
    result = runner.invoke(app, ["validate", str(SEED)])  # the seed itself, whatever else is under source/
    assert result.exit_code == 0, result.output
    assert "0 errors, 0 warnings" in result.output


def test_usage_error_exit_status(tmp_path: Path) -> None:
    assert runner.invoke(app, ["validate", "--format", "xml"]).exit_code == 2
    assert runner.invoke(app, ["validate", "--bogus"]).exit_code == 2


def test_text_report_is_grouped_by_file(tmp_path: Path) -> None:
    root = write_publication(
        tmp_path / "pub", passages={"010-a.md": passage("the the\n"), "020-b.md": passage("x  y\n")}
    )
    result = runner.invoke(app, ["validate", str(root)])
    out = result.output
    assert out.index("010-a.md") < out.index("BK203") < out.index("020-b.md") < out.index("BK204")
    assert "\x1b[" not in out  # plain when not a terminal
    assert "fix:" in out


def test_characters_the_font_lacks_are_named_once_a_line(tmp_path: Path) -> None:
    """A passage in a script the font lacks gets a warning per line, not one per letter, and a
    character already named is not named again on a later line."""
    body = "Plain, then 漢字 and 漢.\n" + "".join(chr(0x4E00 + i) for i in range(12)) + " 字 and 界.\n"
    root = write_publication(tmp_path / "pub", passages={"010-first.md": passage(body)})
    result = runner.invoke(app, ["validate", str(root), "--format", "json"])
    warnings = [d for d in json.loads(result.stdout) if d["code"] == "BK207"]
    assert [(d["line"], d["column"]) for d in warnings] == [(5, 13), (6, 1)]
    assert "U+6F22 '漢', U+5B57 '字' in" in warnings[0]["message"]
    second = warnings[1]["message"]
    assert "U+4E00 '一'" in second and "and 5 more" in second and "字" not in second
    assert result.exit_code == 0


def test_a_control_character_is_one_error_not_also_a_character_the_font_lacks(tmp_path: Path) -> None:
    root = write_publication(tmp_path / "pub", passages={"010-first.md": passage("Null \x00 and bell \x07.\n")})
    result = runner.invoke(app, ["validate", str(root), "--format", "json"])
    assert [d["code"] for d in json.loads(result.stdout)] == ["BK104"]
    assert result.exit_code == 1


def test_the_same_construct_twice_on_a_line_is_reported_at_each_column(tmp_path: Path) -> None:
    root = write_publication(tmp_path / "pub", passages={"010-first.md": passage("One <br> two <br> three.\n")})
    result = runner.invoke(app, ["validate", str(root), "--format", "json"])
    assert [(d["line"], d["column"]) for d in json.loads(result.stdout) if d["code"] == "BK112"] == [(5, 5), (5, 14)]


def test_passage_files_that_cannot_be_read_are_diagnosed(tmp_path: Path) -> None:
    root = write_publication(tmp_path / "pub")
    (root / "passages" / "020-folder.md").mkdir()
    (root / "passages" / "030-dangling.md").symlink_to(tmp_path / "nowhere.md")
    result = runner.invoke(app, ["validate", str(root), "--format", "json"])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    found = {Path(d["file"]).name: d for d in json.loads(result.stdout) if d["code"] == "BK118"}
    assert set(found) == {"020-folder.md", "030-dangling.md"}
    assert "directory" in found["020-folder.md"]["message"]
    assert "symbolic link" in found["030-dangling.md"]["hint"]
    assert result.exit_code == 1


def test_many_of_one_problem_in_a_file_are_summed_up_in_text_but_all_in_json(tmp_path: Path) -> None:
    root = write_publication(tmp_path / "pub", passages={"010-a.md": passage("It was the the end.\n" * 15)})
    text = runner.invoke(app, ["validate", str(root)]).output
    assert text.count("BK203  repeated word") == 10 and "… and 5 more BK203 in this file" in text
    assert "0 errors, 15 warnings" in text
    listed = json.loads(runner.invoke(app, ["validate", str(root), "--format", "json"]).stdout)
    assert len([d for d in listed if d["code"] == "BK203"]) == 15


def test_markup_in_messages_is_not_interpreted(tmp_path: Path) -> None:
    root = write_publication(tmp_path / "pub", "title: x\n'[bold]key[/bold]': 1\n")
    result = runner.invoke(app, ["validate", str(root)])
    assert "[bold]key[/bold]" in result.output


def test_passages_key_orders_passages(tmp_path: Path) -> None:
    root = write_publication(
        tmp_path / "pub",
        "title: x\npassages: [second, first]\n",
        {"010-first.md": GOOD_PASSAGE, "020-second.md": GOOD_PASSAGE},
    )
    publication, diagnostics = load_publication(root)
    assert publication is not None, diagnostics
    assert [p.id for p in publication.passages] == ["second", "first"]


def test_content_hash_follows_every_source_byte(tmp_path: Path) -> None:
    root = write_publication(tmp_path / "pub", GOOD_YAML + "edition: 2025-01-02\n")
    first, _ = load_publication(root)
    again, _ = load_publication(root)
    (root / "passages" / "010-first.md").write_text(GOOD_PASSAGE.replace("Some", "Other"))
    edited, _ = load_publication(root)
    assert first and again and edited
    assert first.content_hash == again.content_hash != edited.content_hash


def test_edition_defaults_to_source_dates_never_now(tmp_path: Path) -> None:
    import os

    root = write_publication(tmp_path / "pub")
    stamp = 1_600_000_000  # 2020-09-13
    for f in [root / "publication.yaml", *(root / "passages").iterdir()]:
        os.utime(f, (stamp, stamp))
    publication, _ = load_publication(root)
    assert publication is not None
    assert publication.edition.isoformat() == "2020-09-13"


_ANY_BYTES = st.binary(max_size=300)
_ANY_TEXT = st.text(max_size=300)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.one_of(_ANY_TEXT.map(lambda s: s.encode("utf-8", "surrogatepass")), _ANY_BYTES), front=_ANY_TEXT)
def test_arbitrary_input_loads_or_diagnoses(tmp_path_factory: pytest.TempPathFactory, body: bytes, front: str) -> None:
    """Whatever the bytes, loading returns a model or diagnostics; it never raises."""
    root = tmp_path_factory.mktemp("pub")
    content = b"---\n" + front.encode("utf-8", "surrogatepass") + b"\n---\n" + body
    write_publication(root, passages={"010-any.md": content})
    publication, diagnostics = load_publication(root)
    assert (publication is None) == any(d.is_error for d in diagnostics)
    for d in diagnostics:
        assert d.code in RULES and d.hint


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(yaml_text=st.text(max_size=200))
def test_arbitrary_publication_yaml_never_raises(tmp_path_factory: pytest.TempPathFactory, yaml_text: str) -> None:
    root = tmp_path_factory.mktemp("pub")
    write_publication(root, yaml_text.encode("utf-8", "surrogatepass"))
    publication, diagnostics = load_publication(root)
    assert (publication is None) == any(d.is_error for d in diagnostics)


def _figure_publication(root: Path, src: str, image: bytes | None = None, name: str = "figures/chart.png") -> Path:
    write_publication(
        root, GOOD_YAML + "edition: 2025-01-02\n", {"010-first.md": passage(f"Text.\n\n![A chart]({src})\n")}
    )
    if image is not None:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(image)
    return root


def _png(size: tuple[int, int] = (8, 4)) -> bytes:
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", size, "white").save(out, format="PNG")
    return out.getvalue()


def _jpeg(mode: str = "RGB", orientation: int | None = None, jfif: bool = True) -> bytes:
    """A small JPEG; without ``jfif``, its JFIF (APP0) segment cut out, as some tools write them."""
    import io

    from PIL import Image

    out, exif = io.BytesIO(), Image.Exif()
    if orientation is not None:
        exif[0x0112] = orientation
    Image.new(mode, (16, 8)).save(out, format="JPEG", **({"exif": exif.tobytes()} if orientation else {}))
    data = out.getvalue()
    if not jfif and data[2:4] == b"\xff\xe0":  # APP0 right after the start of image
        data = data[:2] + data[4 + int.from_bytes(data[4:6], "big") :]
    return data


def _bomb() -> bytes:
    """A PNG that claims 20,000 x 20,000 pixels (400 megapixels): a few hundred bytes, gigabytes decoded."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 20_000, 20_000, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\0" * 1000))
        + chunk(b"IEND", b"")
    )


@pytest.mark.parametrize(
    ("src", "image", "code", "in_message"),
    [
        ("figures/chart.png", _png()[:40], "BK132", "PNG or JPEG"),  # cut in its header
        ("figures/chart.png", _png((64, 64))[:-30], "BK132", "not a readable PNG or JPEG"),  # cut in its pixels
        ("figures/chart.png", _png()[:8] + b"garbage" * 20, "BK132", "PNG or JPEG"),
        ("figures/chart.png", _bomb(), "BK132", "pixels"),
        ("figures/chart.png", b"GIF89a" + bytes(40), "BK132", "not a PNG or JPEG"),
        # what one format would show differently, or the Word pack not at all
        ("figures/photo.jpg", _jpeg("CMYK"), "BK132", "CMYK JPEG"),
        ("figures/photo.jpg", _jpeg(orientation=6), "BK132", "Exif orientation 6"),
        ("figures/photo.jpg", _jpeg(jfif=False), "BK132", "neither a JFIF nor an Exif header"),
        ("figures/missing.png", None, "BK118", "cannot read"),
        ("../outside.png", None, "BK127", "outside the publication"),
        ("/etc/passwd", None, "BK127", "not a path inside"),
        ("https://example.org/chart.png", None, "BK127", "not a path inside"),
    ],
)
def test_an_unusable_figure_is_diagnosed_at_its_line(
    tmp_path: Path, src: str, image: bytes | None, code: str, in_message: str
) -> None:
    (tmp_path / "outside.png").write_bytes(_png())
    root = _figure_publication(tmp_path / "pub", src, image, name=src)
    publication, diagnostics = load_publication(root)
    assert publication is None
    assert [(d.code, d.file, d.line) for d in diagnostics if d.is_error] == [(code, root / "passages/010-first.md", 7)]
    assert in_message in diagnostics[0].message and src in diagnostics[0].message, diagnostics


def test_a_figure_linked_out_of_the_publication_is_refused(tmp_path: Path) -> None:
    (tmp_path / "secret.png").write_bytes(_png())
    root = _figure_publication(tmp_path / "pub", "figures/chart.png")
    (root / "figures").mkdir()
    (root / "figures" / "chart.png").symlink_to(tmp_path / "secret.png")
    _, diagnostics = load_publication(root)
    assert [(d.code, d.line) for d in diagnostics if d.is_error] == [("BK127", 7)]


def test_figure_bytes_are_part_of_the_content_hash(tmp_path: Path) -> None:
    root = _figure_publication(tmp_path / "pub", "figures/chart.png", _png())
    first, diagnostics = load_publication(root)
    assert first is not None, diagnostics
    (root / "figures" / "chart.png").write_bytes(_png((8, 5)))
    changed, _ = load_publication(root)
    assert changed is not None and changed.content_hash != first.content_hash
    (figure,) = figures(changed.passages[0].blocks)
    assert (figure.path, figure.width, figure.height) == ((root / "figures/chart.png").resolve(), 8, 5)


def test_the_briefing_sample_loads_clean_from_its_sources(tmp_path: Path) -> None:
    root = write_publication(tmp_path / "pub", GOOD_YAML, {"010-aid.md": passage(BRIEFING_BODY)})
    chart_png(root / "figures" / "pledges.png")
    publication, diagnostics = load_publication(root)
    assert publication is not None and diagnostics == [], diagnostics  # no sentence or spacing warnings on the table
    (aid,) = publication.passages
    assert [type(b).__name__ for b in aid.blocks] == ["Paragraph", "Table", "Figure", "Paragraph"]
    assert [n.number for n in aid.notes] == [1, 2]


def test_table_cells_are_style_checked_one_by_one(tmp_path: Path) -> None:
    table = "| Name | Note |\n|---|---|\n| A | the the end |\n| B  C | fine |\n"
    root = write_publication(tmp_path / "pub", GOOD_YAML, {"010-t.md": passage(table)})
    _, diagnostics = load_publication(root)
    assert [(d.code, d.line, d.column) for d in diagnostics] == [("BK203", 7, 11), ("BK204", 8, 4)]


def test_the_content_hash_is_the_same_from_a_relative_or_an_absolute_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _figure_publication(tmp_path / "pub", "figures/chart.png", _png())
    monkeypatch.chdir(tmp_path)
    relative, _ = load_publication(Path("pub"))
    absolute, _ = load_publication(root)
    assert relative is not None and absolute is not None
    assert relative.content_hash == absolute.content_hash


@pytest.mark.parametrize("image", [_jpeg(), _jpeg("L"), _jpeg(orientation=1)], ids=["rgb", "grey", "upright-exif"])
def test_a_jpeg_that_validates_is_shown_in_every_format(tmp_path: Path, image: bytes) -> None:
    root = _figure_publication(tmp_path / "pub", "figures/photo.jpg", image, name="figures/photo.jpg")
    publication, diagnostics = load_publication(root)
    assert publication is not None, diagnostics
    for name in registry.names():
        exporter = registry.get(name)
        verify(publication, exporter, exporter.export(publication, tmp_path / name))
