"""The format registry: one explicit list, each format's module imported only when used."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from exporters import epubcheck, registry
from tests.conftest import SEED


def test_every_listed_format_has_an_exporter_with_its_label_and_media_type() -> None:
    assert registry.names() == ["docx", "epub", "pdf"]
    for name in registry.names():
        described = registry.describe(name)
        assert described.name == name and described.label and "/" in described.media_type
        exporter = registry.get(name)
        assert exporter.format is described and callable(exporter.export) and callable(exporter.read_back)
    assert registry.get("epub").check is epubcheck.check
    # only EPUBCheck's start (a Java VM) is worth a warm worker; the other checks are plain Python
    assert [n for n in registry.names() if registry.describe(n).warm_check] == ["epub"]
    assert {registry.describe(n).media_type for n in registry.names()} == {
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "application/epub+zip",
        "application/pdf",
    }


def test_an_unknown_format_names_the_known_ones() -> None:
    with pytest.raises(KeyError, match="known formats: docx, epub, pdf"):
        registry.get("odt")


def test_building_the_word_pack_imports_neither_reportlab_nor_java(tmp_path: object) -> None:
    code = (
        "import sys, tempfile; from pathlib import Path\n"
        "from briefkit.loader import load_publication; from exporters import registry; from exporters.verify import verify\n"
        f"publication, _ = load_publication({str(SEED)!r})\n"
        "docx = registry.get('docx')\n"
        "verify(publication, docx, docx.export(publication, Path(tempfile.mkdtemp())))\n"
        "print(sorted(m for m in ('exporters.pdf', 'exporters.epub', 'jpype', 'reportlab.platypus', 'ebooklib') if m in sys.modules))"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert run.stdout.strip() == "[]"


def test_an_up_to_date_check_imports_no_exporter(tmp_path: Path) -> None:
    code = (
        "import sys; from pathlib import Path\n"
        "from briefkit import publishing; from briefkit.loader import load_publication; from exporters import registry\n"
        f"publication, _ = load_publication({str(SEED)!r})\n"
        f"publishing.up_to_date(Path({str(tmp_path)!r}), publication, registry.versions(registry.names()), '0')\n"
        "print(sorted(m for m in sys.modules if m.startswith(('exporters.', 'reportlab.platypus', 'docx', 'ebooklib', 'jpype'))"
        " and m != 'exporters.registry'))"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert run.stdout.strip() == "[]"
