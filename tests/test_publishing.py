"""Publishing mechanics without Prefect: the lock, staging, immutable editions and revisions, latest link."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
from pathlib import Path

import pytest

from briefkit import publishing
from briefkit.manifest import (
    DRAFT,
    Manifest,
    ManifestFile,
    edition_dirs,
    is_edition_name,
    latest_dir,
    published_editions,
    read_manifest,
    sha256_file,
)
from briefkit.model import Publication

OUTPUT_ID = "demo"


def manifest(edition: dt.date, content_hash: str, files: dict[str, Path]) -> Manifest:
    return Manifest(
        publication_id=OUTPUT_ID, title="Demo", subtitle="", description="", classification="", language="en",
        edition=edition, content_hash=content_hash, briefkit_version="1.0", exporter_versions={fmt: "1" for fmt in files},
        files=tuple(ManifestFile(p.name, fmt, p.stat().st_size, sha256_file(p)) for fmt, p in files.items()), passages=(),
    )  # fmt: skip


def stage(output: Path, edition: dt.date, text: str, status: str = "final") -> tuple[Path, Manifest]:
    staging = publishing.new_staging(output, OUTPUT_ID)
    path = staging / "demo-notes.txt"
    path.write_text(text, encoding="utf-8")
    return staging, dataclasses.replace(manifest(edition, f"hash-{text}", {"txt": path}), status=status)


def files_of(directory: Path) -> dict[str, str]:
    return {p.name: sha256_file(p) for p in sorted(directory.iterdir())}


def test_publish_moves_staging_into_place_and_points_latest(tmp_path: Path) -> None:
    staging, m = stage(tmp_path, dt.date(2025, 3, 1), "one")
    edition, new = publishing.publish(staging, m, tmp_path)
    assert new and edition.directory == tmp_path / OUTPUT_ID / "2025-03-01"
    assert edition.manifest == dataclasses.replace(m, revision=1, corrects="")
    assert not staging.exists()
    assert os.readlink(latest_dir(tmp_path, OUTPUT_ID)) == "2025-03-01"  # relative: the tree can move
    assert read_manifest(latest_dir(tmp_path, OUTPUT_ID)) == edition.manifest
    assert oct(edition.directory.stat().st_mode & 0o777) == oct(0o755)
    assert [e.edition for e in published_editions(tmp_path, OUTPUT_ID)] == [dt.date(2025, 3, 1)]


def test_new_content_on_the_same_day_is_a_new_revision_and_the_edition_never_changes(tmp_path: Path) -> None:
    first, _ = publishing.publish(*stage(tmp_path, dt.date(2025, 3, 1), "one"), tmp_path)
    before = files_of(first.directory)
    second, new = publishing.publish(*stage(tmp_path, dt.date(2025, 3, 1), "two"), tmp_path)
    third, _ = publishing.publish(*stage(tmp_path, dt.date(2025, 3, 1), "three"), tmp_path)
    assert new and second.directory.name == "2025-03-01-r2" and third.directory.name == "2025-03-01-r3"
    assert (second.manifest.revision, second.manifest.corrects) == (2, "2025-03-01")
    assert (third.manifest.revision, third.manifest.corrects) == (3, "2025-03-01-r2")
    assert files_of(first.directory) == before  # not a byte changed
    assert os.readlink(latest_dir(tmp_path, OUTPUT_ID)) == "2025-03-01-r3"
    assert [m.edition_id for m in published_editions(tmp_path, OUTPUT_ID)] == [
        "2025-03-01-r3",
        "2025-03-01-r2",
        "2025-03-01",
    ]


def test_the_same_content_again_publishes_nothing(tmp_path: Path) -> None:
    first, _ = publishing.publish(*stage(tmp_path, dt.date(2025, 3, 1), "one"), tmp_path)
    staging, m = stage(tmp_path, dt.date(2025, 3, 1), "one")
    again, new = publishing.publish(staging, m, tmp_path)
    assert not new and again == first and not staging.exists()
    assert [d.name for d in edition_dirs(tmp_path, OUTPUT_ID)] == ["2025-03-01"]


def test_a_draft_is_an_edition_that_latest_never_points_at(tmp_path: Path) -> None:
    draft, _ = publishing.publish(*stage(tmp_path, dt.date(2025, 3, 1), "draft", DRAFT), tmp_path)
    assert draft.manifest.is_draft and not os.path.lexists(latest_dir(tmp_path, OUTPUT_ID))
    final, _ = publishing.publish(*stage(tmp_path, dt.date(2025, 3, 1), "final"), tmp_path)
    assert final.directory.name == "2025-03-01-r2" and final.manifest.corrects == ""  # readers never saw the draft
    later, _ = publishing.publish(*stage(tmp_path, dt.date(2025, 3, 1), "draft again", DRAFT), tmp_path)
    assert later.manifest.corrects == "2025-03-01-r2"  # what it would correct
    assert os.readlink(latest_dir(tmp_path, OUTPUT_ID)) == "2025-03-01-r2"
    assert publishing.recover(tmp_path, OUTPUT_ID).relinked == ""  # latest is where it belongs


def test_edition_names_are_dates_then_revisions_from_two() -> None:
    assert is_edition_name("2025-03-01") and is_edition_name("2025-03-01-r2") and is_edition_name("2025-03-01-r10")
    for name in ("2025-03-01-r1", "2025-03-01-r0", "2025-03-01-r02", "2025-02-30", "2025-03-01-r", "latest"):
        assert not is_edition_name(name), name


def test_an_old_manifest_reads_as_a_final_first_revision(tmp_path: Path) -> None:
    _, m = stage(tmp_path, dt.date(2025, 3, 1), "one")
    data = json.loads(m.to_json())
    for key in ("revision", "corrects", "status"):
        del data[key]
    old = Manifest.from_json(json.dumps(data))
    assert (old.revision, old.corrects, old.status, old.edition_id) == (1, "", "final", "2025-03-01")


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
    assert publishing.up_to_date(tmp_path, seed, {"txt": "1"}, "1.0") == publishing.Edition(
        tmp_path / seed.id / seed.edition.isoformat(), m
    )
    assert publishing.up_to_date(tmp_path, seed, {"txt": "2"}, "1.0") is None  # exporter changed
    assert publishing.up_to_date(tmp_path, seed, {"txt": "1"}, "1.1") is None  # briefkit changed
    assert publishing.up_to_date(tmp_path, seed, {"txt": "1", "pdf": "1"}, "1.0") is None  # format not built
    (latest_dir(tmp_path, seed.id) / path.name).write_text("y", encoding="utf-8")
    assert publishing.up_to_date(tmp_path, seed, {"txt": "1"}, "1.0") is None  # file changed
    (latest_dir(tmp_path, seed.id) / path.name).unlink()
    assert publishing.up_to_date(tmp_path, seed, {"txt": "1"}, "1.0") is None  # file gone
