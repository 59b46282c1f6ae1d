"""Hostile sources: every attack ends as a diagnostic with file, line and fix, never as a
traceback, a hang, exhausted memory, a leaked file or a forged mail header."""

from __future__ import annotations

import io
import json
import os
import re
import tempfile
import time
import unicodedata
import zipfile
from collections.abc import Callable
from pathlib import Path

import docx
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from PIL import Image

from briefkit.diagnostics import RULES, Diagnostic
from briefkit.distribution.readers import READERS_FILE, load_readers
from briefkit.loader import ALLOWED_FORMAT_CHARS, DEFAULT_LINE_LIMIT, LINE_LIMITS, load_publication
from tests.strategies import hostile_file_names, hostile_paths, hostile_text
from tests.test_validation import GOOD_PASSAGE, passage, write_publication

FORMATS = ("docx", "pdf", "epub")
# Written independently of the loader's, so a mistake in one is not in both.
ENCODED_WORD = re.compile(r"=\?[^?]*\?[bq]\?", re.IGNORECASE)


def codes(diagnostics: list[Diagnostic]) -> list[tuple[str, str, int]]:
    return [(d.code, d.file.name, d.line) for d in diagnostics]


def load(root: Path) -> list[Diagnostic]:
    """Every diagnostic of the publication and its readers, after checking the contract."""
    publication, diagnostics = load_publication(root)
    _, reader_diagnostics = load_readers(root, FORMATS)
    assert (publication is None) == any(d.is_error for d in diagnostics)
    for d in diagnostics + reader_diagnostics:
        assert d.code in RULES and d.hint and d.line >= 0, d
    return diagnostics + reader_diagnostics


# ---- 1. values that reach mail headers, and every other one-line field ----------------------

ONE_LINE_FIELDS = [  # (field, file, line): where a value written as {v} lands
    ("title", "publication.yaml", "title: {v}\n"),
    ("subtitle", "publication.yaml", "title: x\nsubtitle: {v}\n"),
    ("classification", "publication.yaml", "title: x\nclassification: {v}\n"),
    ("organisation", "publication.yaml", "title: x\norganisation: {v}\n"),
    ("description", "publication.yaml", "title: x\ndescription: {v}\n"),
    ("authors", "publication.yaml", "title: x\nauthors:\n  - {v}\n"),
    ("name", "publication.yaml", "title: x\nreaders:\n  - name: {v}\n    address: a@example.org\n"),
    ("title", "010-first.md", "title: {v}\nsummary: y\n"),
    ("summary", "010-first.md", "title: x\nsummary: {v}\n"),
    ("tags", "010-first.md", "title: x\nsummary: y\ntags: [{v}]\n"),
]


def write_field(root: Path, file: str, template: str, value: str) -> tuple[Path, int]:
    """A publication with ``value`` (YAML, as written) in one field; the file and line it is on."""
    text = template.format(v=value)
    if file == "publication.yaml":
        write_publication(root, text)
        return root / file, text.count("\n", 0, text.index(value)) + 1
    write_publication(root, passages={file: passage("Body.\n", text)})
    return root / "passages" / file, text.count("\n", 0, text.index(value)) + 2


def every_field_and_title(values: list[str]) -> list[tuple[str, str, str, str]]:
    """The first value in every field, the others in the publication's title (each load takes time)."""
    return [(*f, values[0]) for f in ONE_LINE_FIELDS] + [(*ONE_LINE_FIELDS[0], v) for v in values[1:]]


ENCODED_WORDS = [
    '"Weekly =?utf-8?q?brief=0D=0AReply-To:_attacker@evil.example?="',
    '"=?utf-8?q?R=0D=0AX-Injected:_yes?="',
    '"=?UTF-8?B?UmVwbHktVG86IGE=?="',
    '"x =?iso-8859-1*en?Q?unclosed"',
]


@pytest.mark.parametrize(("field", "file", "template", "value"), every_field_and_title(ENCODED_WORDS))
def test_encoded_words_are_refused_in_every_one_line_field(
    tmp_path: Path, field: str, file: str, template: str, value: str
) -> None:
    path, line = write_field(tmp_path / "pub", file, template, value)
    found = [d for d in load(tmp_path / "pub") if d.code == "BK124"]
    assert [(d.file, d.line) for d in found] == [(path, line)]
    assert f"'{field}'" in found[0].message and "encoded word" in found[0].message


LINE_BREAKS = ["\\n", "\\r", "\\v", "\\f", "\\x1c", "\\x1e", "\\N", "\\L", "\\P", "\\r\\n"]  # YAML escapes


@pytest.mark.parametrize(("field", "file", "template", "escape"), every_field_and_title(LINE_BREAKS))
def test_a_line_break_of_any_kind_is_an_error(
    tmp_path: Path, field: str, file: str, template: str, escape: str
) -> None:
    path, line = write_field(tmp_path / "pub", file, template, f'"one{escape}two"')
    found = [d for d in load(tmp_path / "pub") if d.code == "BK116"]
    assert [(d.file, d.line) for d in found] == [(path, line)]
    assert f"'{field}' must be one line" in found[0].message and "U+" in found[0].message


def test_block_scalars_must_hold_one_line(tmp_path: Path) -> None:
    root = write_publication(tmp_path / "pub", "title: |\n  Weekly\n  Reply-To: a@evil.example\nsubtitle: |\n  One\n")
    diagnostics = load(root)
    assert codes(diagnostics) == [("BK116", "publication.yaml", 1)]
    assert "'title' must be one line" in diagnostics[0].message and "U+000A" in diagnostics[0].message
    # a folded scalar is the way to write a long value over several lines
    root = write_publication(tmp_path / "ok", "title: >-\n  Weekly\n  brief\n")
    publication, diagnostics = load_publication(root)
    assert publication is not None and publication.title == "Weekly brief", diagnostics


@pytest.mark.parametrize(
    ("field", "file", "template", "char"),
    every_field_and_title(["\u202e", "\u202a", "\u2066", "\u2069", "\u200b", "\u2060", "\ufeff", "\U000e0041"]),
)
def test_formatting_characters_that_disguise_text_are_named(
    tmp_path: Path, field: str, file: str, template: str, char: str
) -> None:
    path, line = write_field(tmp_path / "pub", file, template, f"'Brief{char}gnp.exe'")
    found = [d for d in load(tmp_path / "pub") if d.code == "BK125"]
    assert [(d.file, d.line) for d in found] == [(path, line)]
    assert f"U+{ord(char):04X} {unicodedata.name(char)}" in found[0].message


def test_direction_marks_and_joiners_are_allowed(tmp_path: Path) -> None:
    title = "שלום\u200f 2025 \u200eHello\u061c \u0645\u200c\u06cc \u200d\u00adx"
    root = write_publication(tmp_path / "pub", json.dumps({"title": title}, ensure_ascii=False))
    publication, diagnostics = load_publication(root)
    assert publication is not None and publication.title == title, diagnostics


@pytest.mark.parametrize(("field", "file", "template"), ONE_LINE_FIELDS)
def test_one_line_fields_have_a_length_limit(tmp_path: Path, field: str, file: str, template: str) -> None:
    limit = LINE_LIMITS.get(field, DEFAULT_LINE_LIMIT)
    write_field(tmp_path / "fits", file, template, "é" * limit)
    assert not [d for d in load(tmp_path / "fits") if d.code == "BK126"]
    path, line = write_field(tmp_path / "over", file, template, "é" * (limit + 1))
    found = [d for d in load(tmp_path / "over") if d.code == "BK126"]
    assert [(d.file, d.line) for d in found] == [(path, line)]
    assert f"{limit + 1:,} characters long, over the limit of {limit}" in found[0].message


def test_a_huge_title_is_reported_quickly_and_briefly(tmp_path: Path) -> None:
    root = write_publication(tmp_path / "pub", "title: " + "Brief " * 55_000 + "\n" + "k" * 1000 + ": 1\n")
    started = time.monotonic()
    diagnostics = load(root)
    assert time.monotonic() - started < 10  # about 0.3 s; room for a busy machine
    assert {d.code for d in diagnostics} == {"BK126", "BK105"}
    assert all(len(d.message) < 300 for d in diagnostics)


# ---- 5. values of the wrong kind, duplicate keys, dates ---------------------------------------


@pytest.mark.parametrize(
    "value", ["!!binary aGVsbG8=", "!!set {a, b}", "[a, b]", "{a: b}", "!!omap [a: 1]", "!!float '1.5'"]
)
def test_a_text_field_holding_something_else_must_be_text(tmp_path: Path, value: str) -> None:
    root = write_publication(tmp_path / "pub", f"title: x\nsubtitle: {value}\n", {"010-first.md": GOOD_PASSAGE})
    diagnostics = load(root)
    assert codes(diagnostics) == [("BK116", "publication.yaml", 2)]
    assert "'subtitle' must be text" in diagnostics[0].message


def test_python_tags_are_invalid_yaml(tmp_path: Path) -> None:
    root = write_publication(tmp_path / "pub", "title: !!python/object/apply:os.system ['true']\n")
    assert [d.code for d in load(root)] == ["BK102"]


@pytest.mark.parametrize(
    ("written", "text"), [("1984", "1984"), ("2025-3-1", "2025-3-1"), ("2025-03-01", "2025-03-01"), ("yes", "yes"),
                          ("0x1F", "0x1F"), ("1e3", "1e3"), ("=", "="), ("<<", "<<"), ("'007'", "007")],
)  # fmt: skip
def test_numbers_dates_and_booleans_are_text_as_written(tmp_path: Path, written: str, text: str) -> None:
    root = write_publication(tmp_path / "pub", f"title: {written}\nauthors: [{written}]\n")
    publication, diagnostics = load_publication(root)
    assert publication is not None, diagnostics
    assert publication.title == text and publication.authors == (text,)


def test_duplicate_keys_name_both_lines_in_every_yaml_file(tmp_path: Path) -> None:
    root = write_publication(
        tmp_path / "pub", "title: First\nlanguage: en\ntheme:\n  font: DejaVu Sans\n  font: Other\ntitle: Second\n"
    )
    (root / READERS_FILE).write_text("readers:\n  - address: a@example.org\n    address: b@example.org\n")
    front = write_publication(
        tmp_path / "front", passages={"010-first.md": passage("B.\n", "title: x\nsummary: y\nsummary: z\n")}
    )
    diagnostics = load(root) + load(front)
    assert codes(diagnostics) == [
        ("BK102", "publication.yaml", 5),  # the first duplicate in the file
        ("BK102", READERS_FILE, 3),
        ("BK102", "010-first.md", 4),  # the front matter starts on line 2
    ]
    assert [d.message for d in diagnostics] == [
        "key 'font' is given twice: at line 4 and again at line 5",
        "key 'address' is given twice: at line 2 and again at line 3",
        "key 'summary' is given twice: at line 3 and again at line 4",
    ]
    assert all("keep one" in d.hint for d in diagnostics)


def test_a_merge_key_is_no_duplicate(tmp_path: Path) -> None:
    root = write_publication(tmp_path / "pub", "title: x\ntheme:\n  <<: {page_size: Letter}\n  page_size: A4\n")
    publication, diagnostics = load_publication(root)
    assert publication is not None and publication.theme.page_size == "A4", diagnostics


@pytest.mark.parametrize(
    ("edition", "in_message"),
    [("0999-01-01", "outside the years 1900-9999"), ("1899-12-31", "outside"), ("'0999-01-01'", "outside"),
     ("'2025-02-30'", "'2025-02-30' is not a date"), ("20250301", "'20250301' is not a date"),
     ("'2025-W01-1'", "not a date"), ("[2025]", "must be a date"), ("!!binary aGk=", "must be a date")],
)  # fmt: skip
def test_edition_must_be_a_date_in_range(tmp_path: Path, edition: str, in_message: str) -> None:
    root = write_publication(tmp_path / "pub", f"title: x\nedition: {edition}\n")
    diagnostics = load(root)
    assert codes(diagnostics) == [("BK116", "publication.yaml", 2)]
    assert in_message in diagnostics[0].message


@pytest.mark.parametrize("edition", ["1900-01-01", "'2025-03-01'", "2025-03-01 10:00:00", "9999-12-31"])
def test_edition_dates_that_are_fine(tmp_path: Path, edition: str) -> None:
    publication, diagnostics = load_publication(write_publication(tmp_path / "pub", f"title: x\nedition: {edition}\n"))
    assert publication is not None, diagnostics


# ---- 2. special files as sources --------------------------------------------------------------


@pytest.mark.timeout(30)
@pytest.mark.parametrize("name", ["passages/020-pipe.md", "publication.yaml", READERS_FILE])
def test_a_named_pipe_is_refused_without_hanging(tmp_path: Path, name: str) -> None:
    root = write_publication(tmp_path / "pub")
    (root / name).unlink(missing_ok=True)
    os.mkfifo(root / name)
    found = [d for d in load(root) if d.file == root / name]
    assert [d.code for d in found] == ["BK118"] and "named pipe" in found[0].message


@pytest.mark.timeout(30)
@pytest.mark.parametrize(
    ("target", "code", "in_message"),
    [
        ("/dev/zero", "BK127", "outside the publication directory"),
        ("/etc/passwd", "BK127", "leads to /etc/passwd"),
        ("{outside}", "BK127", "outside the publication directory"),
        ("{root}/passages", "BK118", "a directory"),
        ("{root}/nowhere.md", "BK118", "cannot read"),
        ("{root}/passages/030-loop.md", "BK118", "cannot read"),
    ],
)
def test_a_link_must_lead_to_a_regular_file_inside(tmp_path: Path, target: str, code: str, in_message: str) -> None:
    root = write_publication(tmp_path / "pub")
    (tmp_path / "outside.md").write_text(GOOD_PASSAGE)
    link = root / "passages" / "030-loop.md"
    link.symlink_to(target.format(root=root, outside=tmp_path / "outside.md"))
    found = [d for d in load(root) if d.file == link]
    assert [d.code for d in found] == [code] and in_message in found[0].message


@pytest.mark.timeout(30)
@pytest.mark.parametrize("name", ["publication.yaml", READERS_FILE])
def test_yaml_files_linked_outside_are_refused(tmp_path: Path, name: str) -> None:
    root = write_publication(tmp_path / "pub")
    (tmp_path / "elsewhere.yaml").write_text("title: x\nreaders: []\n")
    (root / name).unlink(missing_ok=True)
    (root / name).symlink_to(tmp_path / "elsewhere.yaml")
    assert [d.code for d in load(root) if d.file == root / name] == ["BK127"]


def test_links_inside_and_a_linked_source_directory_are_fine(tmp_path: Path) -> None:
    real = write_publication(tmp_path / "real" / "pub", passages={})
    (real / "shared").mkdir()
    (real / "shared" / "first.md").write_text(GOOD_PASSAGE)
    (real / "passages" / "010-first.md").symlink_to("../shared/first.md")
    (tmp_path / "source").symlink_to(tmp_path / "real")
    publication, diagnostics = load_publication(tmp_path / "source" / "pub")
    assert publication is not None and [p.id for p in publication.passages] == ["first"], diagnostics


def test_a_file_over_the_limit_is_not_read_past_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BRIEFKIT_MAX_FILE_BYTES", "1000")
    root = write_publication(tmp_path / "pub", passages={"010-first.md": passage("word " * 300)})
    assert codes(load(root)) == [("BK114", "010-first.md", 0)]


# ---- 3. theme files ----------------------------------------------------------------------------


def image(size: tuple[int, int], kind: str = "PNG") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, "#1F3A5F").save(out, kind)
    return out.getvalue()


def png_header(width: int, height: int) -> bytes:
    """A PNG that claims ``width`` x ``height`` pixels but holds almost none (a decompression bomb's shape)."""
    real = image((1, 1))
    ihdr = real.index(b"IHDR")
    header = width.to_bytes(4, "big") + height.to_bytes(4, "big") + real[ihdr + 12 : ihdr + 17]
    chunk = b"IHDR" + header
    return (
        real[: ihdr - 4]
        + len(header).to_bytes(4, "big")
        + chunk
        + zipfile.crc32(chunk).to_bytes(4, "big")
        + real[ihdr + 21 :]
    )


def lying(zipped: bytes, name: str, stated: int) -> bytes:
    """``zipped`` with entry ``name`` stating ``stated`` bytes, as a zip bomb lies about its size."""
    data = bytearray(zipped)
    local = data.index(name.encode()) - 30  # the local header, then the central directory's entry
    central = data.index(name.encode(), local + 31) - 46
    crc = zipfile.crc32(bytes(stated)).to_bytes(4, "little")
    data[local + 14 : local + 18], data[local + 22 : local + 26] = crc, stated.to_bytes(4, "little")
    data[central + 16 : central + 20], data[central + 24 : central + 28] = crc, stated.to_bytes(4, "little")
    return bytes(data)


def word(
    *, without: str = "", extra_entries: int = 0, padding: int = 0, compression: int = zipfile.ZIP_DEFLATED
) -> bytes:
    source = io.BytesIO()
    docx.Document().save(source)
    out = io.BytesIO()
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as new:
        for info in old.infolist():
            if info.filename != without:
                new.writestr(info, old.read(info))
        for n in range(extra_entries):
            new.writestr(f"extra/item{n}.xml", "<x/>")
        if padding:
            entry = zipfile.ZipInfo("word/media/padding.bin")
            entry.compress_type = compression
            with new.open(entry, "w") as stream:
                for _ in range(padding // (1 << 20)):
                    stream.write(bytes(1 << 20))
    return out.getvalue()


def with_theme_file(root: Path, key: str, rel: str, content: bytes | None) -> Path:
    write_publication(root, f"title: x\ntheme:\n  {key}: '{rel}'\n")
    if content is not None:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(content)
    return root


@pytest.mark.timeout(60)
@pytest.mark.parametrize(
    ("key", "make", "code", "in_message"),
    [
        ("logo", lambda: b"GIF89a not a logo", "BK119", "not a PNG or JPEG"),
        ("logo", lambda: image((4, 4), "GIF"), "BK119", "not a PNG or JPEG"),
        ("logo", lambda: image((64, 64))[:-40], "BK119", "not a readable PNG or JPEG"),
        ("logo", lambda: image((64, 64), "JPEG")[:200], "BK119", "not a readable PNG or JPEG"),
        ("logo", lambda: png_header(30_000, 30_000), "BK119", "over the limit of 16,000,000 pixels"),
        ("logo", lambda: png_header(5_000, 4_000), "BK119", "is 5000 x 4000 pixels, over the limit"),
        # within the limit, but with next to no pixel data
        ("logo", lambda: png_header(3_000, 3_000), "BK119", "not a readable PNG or JPEG"),
        ("reference_docx", lambda: b"PK\x03\x04 not really", "BK119", "not a zip archive"),
        ("reference_docx", lambda: image((4, 4)), "BK119", "not a zip archive"),
        ("reference_docx", lambda: word(without="word/styles.xml"), "BK119", "has no word/styles.xml"),
        ("reference_docx", lambda: word(without="[Content_Types].xml"), "BK119", "cannot be opened as a Word document"),
        ("reference_docx", lambda: word(extra_entries=1000), "BK119", "entries, over the limit of 1,000"),
        ("reference_docx", lambda: word(padding=101 << 20), "BK119", "unpacks to over 104,857,600 bytes"),
        (
            "reference_docx",
            lambda: lying(word(padding=2 << 20), "word/media/padding.bin", 100),
            "BK119",
            "inflating past its stated 100 bytes (a zip bomb)",
        ),
        (
            "reference_docx",
            lambda: word(padding=1 << 20, compression=zipfile.ZIP_BZIP2),
            "BK119",
            "compressed in a way Word does not use",
        ),
        ("reference_docx", lambda: bytes(11 << 20), "BK114", "over the limit of 10,485,760"),
    ],
    ids=lambda v: v if isinstance(v, str) and not v.startswith("BK") else None,
)
def test_unusable_theme_files_are_reported_at_their_line(
    tmp_path: Path, key: str, make: Callable[[], bytes], code: str, in_message: str
) -> None:
    root = with_theme_file(tmp_path / "pub", key, f"theme/{key}.bin", make())
    diagnostics = load(root)
    assert codes(diagnostics) == [(code, "publication.yaml", 3)]
    assert in_message in diagnostics[0].message and f"theme {key} 'theme/{key}.bin'" in diagnostics[0].message


@pytest.mark.parametrize(
    ("key", "content"), [("logo", image((300, 100))), ("logo", image((300, 100), "JPEG")), ("reference_docx", word())]
)
def test_usable_theme_files_are_fine(tmp_path: Path, key: str, content: bytes) -> None:
    publication, diagnostics = load_publication(with_theme_file(tmp_path / "pub", key, f"theme/{key}", content))
    assert publication is not None, diagnostics
    assert getattr(publication.theme, key) == tmp_path / "pub" / "theme" / key


@pytest.mark.parametrize(
    "rel", ["../outside.png", "/etc/passwd", "theme/../../outside.png", "link.png", "../absent.png"]
)
def test_theme_files_outside_the_publication_are_refused(tmp_path: Path, rel: str) -> None:
    (tmp_path / "outside.png").write_bytes(image((10, 10)))
    root = with_theme_file(tmp_path / "pub", "logo", rel, None)
    (root / "link.png").symlink_to(tmp_path / "outside.png")
    diagnostics = load(root)
    assert codes(diagnostics) == [("BK127", "publication.yaml", 3)]
    assert "outside the publication directory" in diagnostics[0].message


# ---- 6. any hostile input: a model that is clean, or diagnostics ------------------------------

_STYLES = ("plain", "double", "block")


def _yaml_value(value: str, style: str, indent: str) -> str:
    if style == "double":
        return json.dumps(value, ensure_ascii=False)
    if style == "block":
        return "|\n" + "".join(f"{indent}  {line}\n" for line in value.split("\n")).rstrip("\n")
    return value


@st.composite
def hostile_publication(draw: st.DrawFn) -> dict[str, str]:
    fields = ["title", "subtitle", "classification", "organisation", "author", "reader", "passage_title",
              "summary", "tag"]  # fmt: skip
    # a few fields hostile, the others benign: so that a model often comes back, and is checked too
    hostile = draw(st.sets(st.sampled_from([*fields, "logo", "file", "body", "figure"]), min_size=1, max_size=3))
    benign = st.text("abcXYZ 019-é", min_size=1, max_size=20).map(str.strip).filter(bool)
    styled = {
        f: _yaml_value(draw(hostile_text if f in hostile else benign), draw(st.sampled_from(_STYLES)), "    ")
        for f in fields
    }
    logo = draw(hostile_paths) if "logo" in hostile else None
    return {
        "publication.yaml": (
            f"title: {styled['title']}\nsubtitle: {styled['subtitle']}\nclassification: {styled['classification']}\n"
            f"organisation: {styled['organisation']}\nauthors:\n  - {styled['author']}\nedition: 2025-03-01\n"
            + (f"theme:\n  logo: {json.dumps(logo, ensure_ascii=False)}\n" if logo is not None else "")
            + f"readers:\n  - name: {styled['reader']}\n    address: a@example.org\n"
        ),
        "file": draw(hostile_file_names) if "file" in hostile else "010-first.md",
        "passage": (
            f"---\ntitle: {styled['passage_title']}\nsummary: {styled['summary']}\ntags:\n  - {styled['tag']}\n---\n"
            + (draw(hostile_text) if "body" in hostile else "Body text.\n")
            + (f"\n![A figure]({draw(hostile_paths)})\n" if "figure" in hostile else "")
        ),
    }


def _clean_line(text: str, field: str) -> None:
    assert len(text) <= LINE_LIMITS.get(field, DEFAULT_LINE_LIMIT), field
    assert len(text.splitlines()) <= 1 and "\n" not in text, field
    assert not ENCODED_WORD.search(text), field
    for ch in text:
        category = unicodedata.category(ch)
        assert ch == "\t" or category not in ("Cc", "Cs", "Zl", "Zp"), field  # tab: white space, as in bodies
        assert category != "Cf" or ch in ALLOWED_FORMAT_CHARS, field


@pytest.mark.timeout(300)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(hostile_publication())
def test_hostile_publications_load_clean_or_are_diagnosed(sources: dict[str, str]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "pub"
        (root / "passages").mkdir(parents=True)
        (root / "publication.yaml").write_text(sources["publication.yaml"], encoding="utf-8")
        (root / "passages" / sources["file"]).write_text(sources["passage"], encoding="utf-8")
        started = time.monotonic()
        publication, diagnostics = load_publication(root)
        readers, reader_diagnostics = load_readers(root, FORMATS)
        assert time.monotonic() - started < 10
        assert (publication is None) == any(d.is_error for d in diagnostics)
        for d in diagnostics + reader_diagnostics:
            assert d.code in RULES and d.hint and d.line >= 0, d
            assert Path(os.path.abspath(d.file)).is_relative_to(root), d
        event(f"model: {publication is not None}, readers: {len(readers)}")
        if publication is not None:
            for field in ("title", "subtitle", "classification", "organisation", "description"):
                _clean_line(getattr(publication, field), field)
            for author in publication.authors:
                _clean_line(author, "authors")
            for p in publication.passages:
                _clean_line(p.title, "title")
                _clean_line(p.summary, "summary")
                for tag in p.tags:
                    _clean_line(tag, "tags")
        for reader in readers:
            _clean_line(reader.name, "name")


def test_messages_show_invisible_characters_as_escapes(tmp_path: Path) -> None:
    root = write_publication(tmp_path / "pub", 'title: x\n"\\e[2J\\u202eyek": 1\n')
    messages = [d.message for d in load(root) if d.code == "BK105"]
    assert messages == ["unknown key '\\u001b[2J\\u202eyek' in publication.yaml"]
