"""The publication keys that shape editions: formats, status and strict, as the loader reads them."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from briefkit.loader import load_publication
from exporters import registry
from flows.cli import app
from tests.test_validation import GOOD_YAML, write_publication


def test_the_defaults_are_every_format_final_and_not_strict(tmp_path: Path) -> None:
    publication, diagnostics = load_publication(write_publication(tmp_path / "brief"), known_formats=registry.names())
    assert publication is not None and not diagnostics
    assert (publication.formats, publication.status, publication.strict) == ((), "final", False)


def test_the_keys_are_read(tmp_path: Path) -> None:
    root = write_publication(tmp_path / "brief", GOOD_YAML + "formats: [pdf, docx, pdf]\nstatus: draft\nstrict: true\n")
    publication, diagnostics = load_publication(root, known_formats=registry.names())
    assert publication is not None and not diagnostics
    assert (publication.formats, publication.status, publication.strict) == (("pdf", "docx"), "draft", True)


def test_an_unknown_format_is_an_error_naming_the_known_ones(tmp_path: Path) -> None:
    root = write_publication(tmp_path / "brief", GOOD_YAML + "formats: [pdf, odt]\n")
    publication, [d] = load_publication(root, known_formats=registry.names())
    assert publication is None and (d.code, d.line) == ("BK116", 3)
    assert "unknown format odt" in d.message and d.hint == f"known formats: {', '.join(registry.names())}"
    result = CliRunner().invoke(app, ["validate", str(root)])  # `briefkit validate` says so too
    assert result.exit_code == 1 and "unknown format odt" in result.output


def test_wrong_values_are_errors(tmp_path: Path) -> None:
    root = write_publication(tmp_path / "brief", GOOD_YAML + "formats: []\nstatus: published\nstrict: sometimes\n")
    publication, diagnostics = load_publication(root, known_formats=registry.names())
    assert publication is None
    assert [(d.code, d.line) for d in diagnostics] == [("BK116", 3), ("BK116", 4), ("BK116", 5)]
    assert ["no format" in diagnostics[0].message, "final or draft" in diagnostics[1].message] == [True, True]


def test_timezone_and_tags_are_read(tmp_path: Path) -> None:
    root = write_publication(tmp_path / "brief", GOOD_YAML + "timezone: Europe/Kyiv\ntags: [nato, air-defence, nato]\n")
    publication, diagnostics = load_publication(root, known_formats=registry.names())
    assert publication is not None and not diagnostics
    assert (publication.timezone, publication.tags) == ("Europe/Kyiv", ("nato", "air-defence"))


def test_a_timezone_that_is_not_an_iana_name_is_an_error_with_a_hint(tmp_path: Path) -> None:
    root = write_publication(tmp_path / "brief", GOOD_YAML + "timezone: Europe/Kiev2\n")
    publication, [d] = load_publication(root, known_formats=registry.names())
    assert publication is None and (d.code, d.file, d.line) == ("BK134", root / "publication.yaml", 3)
    assert "'Europe/Kiev2' is not an IANA time zone name" in d.message and d.hint == "did you mean 'Europe/Kiev'?"
    result = CliRunner().invoke(app, ["validate", str(root), "--format", "json"])
    assert result.exit_code == 1 and '"code": "BK134"' in result.output
    root = write_publication(tmp_path / "other", GOOD_YAML + "timezone: ../../etc/passwd\n")
    _, [d] = load_publication(root)
    assert d.code == "BK134" and "Europe/Kyiv" in d.hint


def test_a_tag_that_is_not_a_slug_is_an_error(tmp_path: Path) -> None:
    root = write_publication(tmp_path / "brief", GOOD_YAML + "tags:\n  - nato\n  - Air Defence\n")
    publication, [d] = load_publication(root, known_formats=registry.names())
    assert publication is None and (d.code, d.line) == ("BK116", 5)
    assert "'Air Defence' is not a lower-case slug" in d.message


def test_tags_that_yaml_reads_as_other_types_are_diagnosed_not_a_traceback(tmp_path: Path) -> None:
    root = write_publication(tmp_path / "brief", GOOD_YAML + "tags: [Yes, 12, on]\n")
    publication, [d] = load_publication(root)
    assert publication is None and (d.code, d.line) == ("BK116", 3) and "'Yes' is not a lower-case slug" in d.message
