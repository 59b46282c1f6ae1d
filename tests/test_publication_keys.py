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
