"""Test helper: publish editions into the layout of briefkit.manifest, as the build flow does.

Real files with real sizes and sha256 sums, a real manifest.json and a ``latest`` symlink,
so the portal and the mailer are tested on exactly what they will read.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

from briefkit.manifest import (
    LATEST,
    MANIFEST,
    Manifest,
    ManifestFile,
    PassageSummary,
    edition_dir,
    latest_dir,
    sha256_file,
)

SUFFIXES = {"docx": "briefing-pack.docx", "pdf": "handout.pdf", "epub": "reader.epub"}
LABELS = {"docx": "Word briefing pack", "pdf": "PDF handout", "epub": "EPUB reader"}
MEDIA_TYPES = {
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "pdf": "application/pdf",
    "epub": "application/epub+zip",
}


def sample_bytes(fmt: str, edition: dt.date, size: int = 3000) -> bytes:
    """Distinct, incompressible-looking bytes per format and edition (every byte value occurs)."""
    seed = f"{fmt}/{edition}".encode()
    return bytes((i * 131 + seed[i % len(seed)]) % 256 for i in range(size))


def publish_edition(
    output: Path,
    publication_id: str = "test-brief",
    edition: dt.date = dt.date(2025, 3, 1),
    files: dict[str, bytes] | None = None,
    title: str = "Test Brief",
    classification: str = "OFFICIAL",
    language: str = "en",
    passages: tuple[PassageSummary, ...] = (
        PassageSummary("first", "First passage", "What the first passage says."),
        PassageSummary("second", "Second passage", ""),
    ),
    latest: bool = True,
    tags: tuple[str, ...] = (),
) -> Manifest:
    files = files if files is not None else {fmt: sample_bytes(fmt, edition) for fmt in ("docx", "pdf", "epub")}
    directory = edition_dir(output, publication_id, edition)
    directory.mkdir(parents=True, exist_ok=True)
    entries = []
    for fmt, data in files.items():
        path = directory / f"{publication_id}-{SUFFIXES.get(fmt, fmt)}"
        path.write_bytes(data)
        entries.append(
            ManifestFile(
                path.name,
                fmt,
                len(data),
                sha256_file(path),
                LABELS.get(fmt, fmt),
                MEDIA_TYPES.get(fmt, "application/octet-stream"),
            )
        )
    manifest = Manifest(
        publication_id=publication_id, title=title, subtitle="A subtitle", description=f"About {title}.",
        classification=classification, language=language, edition=edition, content_hash="0" * 64,
        briefkit_version="test", exporter_versions={fmt: "1" for fmt in files}, files=tuple(entries), passages=passages,
        tags=tags,
    )  # fmt: skip
    (directory / MANIFEST).write_text(manifest.to_json(), encoding="utf-8")
    if latest:
        link = latest_dir(output, publication_id)
        tmp = link.with_name(f".{LATEST}.tmp")
        tmp.unlink(missing_ok=True)
        tmp.symlink_to(edition.isoformat())
        os.replace(tmp, link)
    return manifest
