"""Reader lists are validated like the sources: every problem with its file, line and rule."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from briefkit.distribution.readers import READERS_FILE, Reader, load_readers

FORMATS = ("docx", "pdf", "epub")


def write(directory: Path, publication_extra: str = "", readers_file: str | None = None) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "publication.yaml").write_text("title: T\n" + publication_extra, encoding="utf-8")
    if readers_file is not None:
        (directory / READERS_FILE).write_text(readers_file, encoding="utf-8")
    return directory


def codes(diags: list) -> list[tuple[str, str, int]]:
    return [(d.code, d.file.name, d.line) for d in diags]


def test_valid_lists_from_both_places(tmp_path: Path) -> None:
    d = write(
        tmp_path / "p",
        "readers:\n  - name: Ada Lovelace\n    address: ada@example.org\n    formats: [pdf, epub]\n",
        "readers:\n  - address: grace.hopper+briefs@navy.example.mil\n",
    )
    readers, diags = load_readers(d, FORMATS)
    assert diags == []
    assert readers == (
        Reader("Ada Lovelace", "ada@example.org", ("pdf", "epub")),
        Reader("", "grace.hopper+briefs@navy.example.mil", None),
    )
    assert readers[0].wants(["docx", "pdf", "epub"]) == ("pdf", "epub")
    assert readers[1].wants(["docx", "pdf"]) == ("docx", "pdf")


def test_no_readers_is_fine(tmp_path: Path) -> None:
    assert load_readers(write(tmp_path / "p"), FORMATS) == ((), [])


@pytest.mark.parametrize(
    "address",
    [
        "ada",
        "ada@",
        "@example.org",
        "ada@example",
        "a da@example.org",
        "ada@exa_mple.org",
        "Ada <ada@example.org>",
        "ada@@example.org",
        "ada.@example.org",
        "ädä@example.org",
    ],
)
def test_bad_addresses_are_errors_with_line(tmp_path: Path, address: str) -> None:
    d = write(tmp_path / "p", f"readers:\n  - name: Ada\n    address: '{address}'\n")
    readers, diags = load_readers(d, FORMATS)
    assert readers == ()
    assert codes(diags) == [("BK120", "publication.yaml", 4)]
    assert diags[0].is_error and address in diags[0].message


def test_every_problem_has_its_rule_and_line(tmp_path: Path) -> None:
    d = write(
        tmp_path / "p",
        readers_file=(
            "readers:\n"
            "  - name: Ada\n"  # 2
            "    address: ada@example.org\n"
            "    formats: [pdf, epubb]\n"  # 4: unknown format, close to epub
            "  - name: Ada again\n"  # 5
            "    address: ADA@example.org\n"  # 6: duplicate, case-insensitive
            "  - name: No address\n"  # 7
            "    adress: x@example.org\n"  # 8: unknown key
            "  - just a string\n"  # 9
            "  - address: z@example.org\n"
            "    formats: []\n"  # 11: empty list
            "  - address: n@example.org\n"
            "    name: |\n"  # 13: two lines
            "      two\n      lines\n"
            "extra: 1\n"  # 16: unknown top-level key
        ),
    )
    readers, diags = load_readers(d, FORMATS)
    assert codes(diags) == [
        ("BK121", "readers.yaml", 4),
        ("BK122", "readers.yaml", 6),
        ("BK123", "readers.yaml", 7),
        ("BK105", "readers.yaml", 8),
        ("BK116", "readers.yaml", 9),
        ("BK116", "readers.yaml", 11),
        ("BK116", "readers.yaml", 13),
        ("BK105", "readers.yaml", 16),
    ]
    by_code = {d.code: d for d in diags}
    assert "did you mean 'epub'" in by_code["BK121"].hint
    assert "did you mean 'address'" in next(d.hint for d in diags if d.code == "BK105" and d.line == 8)
    assert "readers.yaml:3" in by_code["BK122"].message
    assert all(d.is_error for d in diags)
    assert readers[0] == Reader("Ada", "ada@example.org", ("pdf",))


def test_duplicates_across_files(tmp_path: Path) -> None:
    d = write(tmp_path / "p", "readers:\n  - address: ada@example.org\n", "readers:\n  - address: ada@example.org\n")
    _, diags = load_readers(d, FORMATS)
    assert codes(diags) == [("BK122", "readers.yaml", 2)]
    assert "publication.yaml:3" in diags[0].message


def test_readers_yaml_syntax_error(tmp_path: Path) -> None:
    d = write(tmp_path / "p", readers_file="readers:\n  - address: [unclosed\n")
    _, diags = load_readers(d, FORMATS)
    assert [d.code for d in diags] == ["BK102"] and diags[0].file.name == READERS_FILE


def test_readers_and_editors_must_be_lists_said_by_name(tmp_path: Path) -> None:
    directory = write(tmp_path / "p", "readers: ada@example.org\neditors: grace@example.org\n")
    for key, line in (("readers", 2), ("editors", 3)):
        _, diags = load_readers(directory, FORMATS, key=key)
        assert codes(diags) == [("BK116", "publication.yaml", line)]
        assert diags[0].message.startswith(f"'{key}' must be a list") and f"write {key}:" in diags[0].hint


def test_control_character_in_name(tmp_path: Path) -> None:
    _, diags = load_readers(
        write(tmp_path / "p", 'readers:\n  - name: "A\\u0007da"\n    address: ada@example.org\n'), FORMATS
    )
    assert codes(diags) == [("BK104", "publication.yaml", 3)]


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ('"=?utf-8?q?R=0D=0AX-Injected:_yes?="', "BK124"),
        ('"Ada =?UTF-8?B?QWRh?="', "BK124"),
        ('"Ada\\u2028Lovelace"', "BK116"),
        ('"Ada\\rBcc: x@evil.example"', "BK116"),
        ('"Ada \\u202eecalevoL"', "BK125"),
        ("Ada" * 41, "BK126"),
        ("!!binary QWRh", "BK116"),
    ],
)
def test_names_that_could_forge_a_mail_header_are_errors(tmp_path: Path, name: str, code: str) -> None:
    readers, diags = load_readers(
        write(tmp_path / "p", readers_file=f"readers:\n  - name: {name}\n    address: a@example.org\n"), FORMATS
    )
    assert readers == ()
    assert codes(diags) == [(code, READERS_FILE, 2)]


def test_an_address_with_an_encoded_word_is_an_error(tmp_path: Path) -> None:
    _, diags = load_readers(
        write(tmp_path / "p", "readers:\n  - address: =?utf-8?q?a=0D=0ABcc:_x?=@example.org\n"), FORMATS
    )
    assert codes(diags) == [("BK124", "publication.yaml", 3)]


@pytest.mark.timeout(30)
def test_readers_yaml_must_be_a_regular_file_inside(tmp_path: Path) -> None:
    d = write(tmp_path / "p")
    os.mkfifo(d / READERS_FILE)
    _, diags = load_readers(d, FORMATS)
    assert codes(diags) == [("BK118", READERS_FILE, 0)] and "named pipe" in diags[0].message
    (d / READERS_FILE).unlink()
    (tmp_path / "elsewhere.yaml").write_text("readers:\n  - address: a@example.org\n")
    (d / READERS_FILE).symlink_to(tmp_path / "elsewhere.yaml")
    _, diags = load_readers(d, FORMATS)
    assert codes(diags) == [("BK127", READERS_FILE, 0)]
