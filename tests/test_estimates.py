"""The guesses a build makes from its source files before validating them."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from briefkit.estimates import expects_work, looks_unchanged, wants_workers
from briefkit.loader import load_publication
from briefkit.manifest import Manifest
from briefkit.publishing import new_staging, publish


def test_small_publications_run_in_the_flow_process(seed_copy: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert not wants_workers([seed_copy])  # 10 short passages, 5.6 kB
    monkeypatch.setenv("BRIEFKIT_WORKER_MIN_BYTES", "15000")
    assert not wants_workers([seed_copy])
    copies = []
    for n in range(3):  # together, several small publications are worth workers
        copies.append(seed_copy.with_name(f"copy-{n}"))
        shutil.copytree(seed_copy, copies[-1])
    assert wants_workers(copies)
    monkeypatch.setenv("BRIEFKIT_WORKER_MIN_BYTES", "0")
    assert wants_workers([seed_copy])


def test_looks_unchanged_until_a_source_changes(seed_copy: Path, tmp_path: Path) -> None:
    output = tmp_path / "output"
    assert not looks_unchanged(seed_copy, output)  # nothing published yet
    publication, _ = load_publication(seed_copy)
    assert publication is not None
    published = Manifest(
        publication_id=publication.id, title=publication.title, subtitle="", description="", classification="", language="en",
        edition=publication.edition, content_hash=publication.content_hash, briefkit_version="1", exporter_versions={}, files=(), passages=(),
    )  # fmt: skip
    publish(new_staging(output, publication.id), published, output)
    assert looks_unchanged(seed_copy, output)
    assert not expects_work([seed_copy], output, force=False) and expects_work([seed_copy], output, force=True)
    passage = next((seed_copy / "passages").glob("*.md"))
    passage.write_text(passage.read_text(encoding="utf-8") + "\nOne more sentence.\n", encoding="utf-8")
    assert not looks_unchanged(seed_copy, output)
    assert expects_work([seed_copy], output, force=False)
