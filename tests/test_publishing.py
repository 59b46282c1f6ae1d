"""Publishing mechanics without Prefect: the lock, staging, atomic swap and latest link."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest

from briefkit import publishing
from briefkit.manifest import LATEST, Manifest, ManifestFile, latest_dir, published_editions, read_manifest, sha256_file
from briefkit.model import Publication

OUTPUT_ID = "demo"


def manifest(edition: dt.date, content_hash: str, files: dict[str, Path]) -> Manifest:
    return Manifest(
        publication_id=OUTPUT_ID, title="Demo", subtitle="", description="", classification="", language="en",
        edition=edition, content_hash=content_hash, briefkit_version="1.0", exporter_versions={fmt: "1" for fmt in files},
        files=tuple(ManifestFile(p.name, fmt, p.stat().st_size, sha256_file(p)) for fmt, p in files.items()), passages=(),
    )  # fmt: skip


def stage(output: Path, edition: dt.date, text: str) -> tuple[Path, Manifest]:
    staging = publishing.new_staging(output, OUTPUT_ID)
    path = staging / "demo-notes.txt"
    path.write_text(text, encoding="utf-8")
    return staging, manifest(edition, f"hash-{text}", {"txt": path})


def test_publish_moves_staging_into_place_and_points_latest(tmp_path: Path) -> None:
    staging, m = stage(tmp_path, dt.date(2025, 3, 1), "one")
    dest = publishing.publish(staging, m, tmp_path)
    assert dest == tmp_path / OUTPUT_ID / "2025-03-01"
    assert not staging.exists()
    assert os.readlink(latest_dir(tmp_path, OUTPUT_ID)) == "2025-03-01"  # relative: the tree can move
    assert read_manifest(latest_dir(tmp_path, OUTPUT_ID)) == m
    assert oct(dest.stat().st_mode & 0o777) == oct(0o755)
    assert [e.edition for e in published_editions(tmp_path, OUTPUT_ID)] == [dt.date(2025, 3, 1)]


def test_republishing_an_edition_swaps_it_whole(tmp_path: Path) -> None:
    publishing.publish(*stage(tmp_path, dt.date(2025, 3, 1), "one"), tmp_path)
    old = (tmp_path / OUTPUT_ID / "2025-03-01" / "demo-notes.txt").open(encoding="utf-8")  # a reader mid-download
    staging, m = stage(tmp_path, dt.date(2025, 3, 1), "two")
    publishing.publish(staging, m, tmp_path)
    assert (latest_dir(tmp_path, OUTPUT_ID) / "demo-notes.txt").read_text(encoding="utf-8") == "two"
    assert read_manifest(latest_dir(tmp_path, OUTPUT_ID)) == m
    assert old.read() == "one"  # the reader still gets the complete old file
    old.close()
    assert not staging.exists()
    assert sorted(p.name for p in (tmp_path / OUTPUT_ID).iterdir() if not p.name.startswith(".")) == [
        "2025-03-01",
        LATEST,
    ]


def test_a_newer_edition_keeps_the_older_one(tmp_path: Path) -> None:
    publishing.publish(*stage(tmp_path, dt.date(2025, 3, 1), "one"), tmp_path)
    publishing.publish(*stage(tmp_path, dt.date(2025, 4, 1), "two"), tmp_path)
    assert os.readlink(latest_dir(tmp_path, OUTPUT_ID)) == "2025-04-01"
    assert [e.edition for e in published_editions(tmp_path, OUTPUT_ID)] == [dt.date(2025, 4, 1), dt.date(2025, 3, 1)]


def test_second_lock_holder_is_refused_with_the_first_ones_name(tmp_path: Path) -> None:
    with publishing.lock(tmp_path, OUTPUT_ID, "flow run 'first'") as holder:
        with pytest.raises(publishing.PublicationLocked) as refused:
            with publishing.lock(tmp_path, OUTPUT_ID, "flow run 'second'"):
                pass
        message = str(refused.value)
        assert "'demo' is already being built by flow run 'first'" in message
        assert f"pid {holder.pid}" in message and "wait for that run to finish" in message
    with publishing.lock(tmp_path, OUTPUT_ID, "flow run 'third'"):  # released on exit
        pass


def test_clear_staging_removes_what_interrupted_runs_left(tmp_path: Path) -> None:
    publishing.publish(*stage(tmp_path, dt.date(2025, 3, 1), "one"), tmp_path)
    leftover, _ = stage(tmp_path, dt.date(2025, 3, 1), "half-written")
    publishing.clear_staging(tmp_path, OUTPUT_ID)
    assert not leftover.exists()
    assert (latest_dir(tmp_path, OUTPUT_ID) / "demo-notes.txt").read_text(encoding="utf-8") == "one"


def test_up_to_date_compares_sources_versions_and_files(tmp_path: Path, seed: Publication) -> None:
    staging = publishing.new_staging(tmp_path, seed.id)
    path = staging / f"{seed.id}-notes.txt"
    path.write_text("x", encoding="utf-8")
    m = Manifest(
        publication_id=seed.id, title=seed.title, subtitle="", description="", classification="", language="en",
        edition=seed.edition, content_hash=seed.content_hash, briefkit_version="1.0", exporter_versions={"txt": "1"},
        files=(ManifestFile(path.name, "txt", 1, sha256_file(path)),), passages=(),
    )  # fmt: skip
    publishing.publish(staging, m, tmp_path)
    assert publishing.up_to_date(tmp_path, seed, {"txt": "1"}, "1.0") == m
    assert publishing.up_to_date(tmp_path, seed, {"txt": "2"}, "1.0") is None  # exporter changed
    assert publishing.up_to_date(tmp_path, seed, {"txt": "1"}, "1.1") is None  # briefkit changed
    assert publishing.up_to_date(tmp_path, seed, {"txt": "1", "pdf": "1"}, "1.0") is None  # format not built
    (latest_dir(tmp_path, seed.id) / path.name).unlink()
    assert publishing.up_to_date(tmp_path, seed, {"txt": "1"}, "1.0") is None  # file gone
