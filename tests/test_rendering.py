"""The rich briefing as readers' programs render it: the Word pack through LibreOffice
(headless), the PDF handout through poppler. What they lay out must hold every table cell,
footnote and figure caption of the canonical text."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from briefkit.model import Publication
from exporters.registry import get
from tests.samples import briefing

# what the briefing's passage must show, whoever lays it out
SHOWN = (
    "Who pledges what",
    "United Kingdom",
    "44.8",
    "Military aid pledges by donor",
    "Figure 1",
    "Pledges by donor, 2023",
    "Kiel Institute for the World Economy",
    "statement of 12 January 2025",
)


def _text_of_pdf(pdf: Path) -> str:
    done = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True)
    return " ".join(done.stdout.split())


def _rendered_pages(pdf: Path, out: Path) -> list[Path]:
    subprocess.run(["pdftoppm", "-r", "50", "-png", str(pdf), str(out / "page")], check=True, timeout=120)
    return sorted(out.glob("page*.png"))


def test_libreoffice_lays_out_the_word_pack_with_tables_notes_and_figures(seed: Publication, tmp_path: Path) -> None:
    docx = get("docx").export(briefing(seed, tmp_path / "source"), tmp_path)
    profile = tmp_path / "lo-profile"  # a profile of its own: no clash with another soffice
    subprocess.run(
        [shutil.which("soffice") or "soffice", f"-env:UserInstallation=file://{profile}", "--headless",
         "--convert-to", "pdf", "--outdir", str(tmp_path / "lo"), str(docx)],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    pdf = tmp_path / "lo" / (docx.stem + ".pdf")
    text = _text_of_pdf(pdf)
    assert [s for s in SHOWN if s not in text] == []
    assert "[^" not in text and "| Donor |" not in text  # no markup printed as text
    assert _rendered_pages(pdf, tmp_path)


def test_poppler_renders_the_handout_with_tables_notes_and_figures(seed: Publication, tmp_path: Path) -> None:
    pdf = get("pdf").export(briefing(seed, tmp_path / "source"), tmp_path)
    text = _text_of_pdf(pdf)
    assert [s for s in SHOWN if s not in text] == []
    assert "[^" not in text and "| Donor |" not in text
    assert _rendered_pages(pdf, tmp_path)
