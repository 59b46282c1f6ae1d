"""Publishing under attack and after crashes: planted links are refused, leftovers are repaired.

Every attack plants a real symbolic link (or hard link) to a victim file or directory
outside the output; the victim must come out byte-identical. Every crash is simulated
by leaving exactly what an interrupted run leaves on disk, then running the next step.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import pickle
from pathlib import Path

import pytest
from lxml import etree

from briefkit import publishing
from briefkit.atomic import UnsafePath, atomic_path
from briefkit.distribution.portal import publish_site
from briefkit.manifest import (
    LATEST,
    MANIFEST,
    Manifest,
    edition_dir,
    latest_dir,
    latest_edition,
    published_editions,
    published_publications,
)
from tests.test_publishing import OUTPUT_ID, stage

D1, D2 = dt.date(2025, 3, 1), dt.date(2025, 4, 1)
ATOM = {"a": "http://www.w3.org/2005/Atom"}


@pytest.fixture
def victim(tmp_path: Path) -> Path:
    path = tmp_path / "victim" / "precious.txt"
    path.parent.mkdir()
    path.write_text("do not touch\n")
    return path


def untouched(victim: Path) -> bool:
    return victim.read_text() == "do not touch\n" and sorted(p.name for p in victim.parent.iterdir()) == [victim.name]


def notes(output: Path) -> str:
    return (latest_dir(output, OUTPUT_ID) / "demo-notes.txt").read_text(encoding="utf-8")


# ---- planted links -----------------------------------------------------------------------


@pytest.mark.parametrize("target", ["precious.txt", "not-yet-there.txt"])
def test_a_lock_file_linked_to_a_victim_is_refused(tmp_path: Path, victim: Path, target: str) -> None:
    out = tmp_path / "out"
    (out / OUTPUT_ID).mkdir(parents=True)
    (out / OUTPUT_ID / ".lock").symlink_to(victim.parent / target)
    with pytest.raises(UnsafePath, match=r"\.lock is a symbolic link.*remove or move it away"):
        with publishing.lock(out, OUTPUT_ID, "run"):
            pass
    assert untouched(victim)  # neither truncated nor created


def test_the_refusal_survives_a_trip_from_a_worker_process(tmp_path: Path) -> None:
    refusal = UnsafePath(tmp_path / ".lock", "a symbolic link")
    assert str(pickle.loads(pickle.dumps(refusal))) == str(refusal)


@pytest.mark.parametrize("plant", ["hard link", "directory", "fifo"])
def test_a_lock_file_of_another_kind_is_refused(tmp_path: Path, victim: Path, plant: str) -> None:
    out = tmp_path / "out"
    (out / OUTPUT_ID).mkdir(parents=True)
    lock = out / OUTPUT_ID / ".lock"
    {"hard link": lambda: os.link(victim, lock), "directory": lock.mkdir, "fifo": lambda: os.mkfifo(lock)}[plant]()
    with pytest.raises((UnsafePath, IsADirectoryError)):
        with publishing.lock(out, OUTPUT_ID, "run"):
            pass
    assert victim.read_text() == "do not touch\n"


def test_a_publication_directory_linked_elsewhere_is_refused(tmp_path: Path, victim: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / OUTPUT_ID).symlink_to(victim.parent, target_is_directory=True)
    with pytest.raises(UnsafePath, match="symbolic link"):
        with publishing.lock(out, OUTPUT_ID, "run"):
            pass
    with pytest.raises(UnsafePath):
        publishing.new_staging(out, OUTPUT_ID)
    assert untouched(victim)


def test_a_staging_directory_linked_elsewhere_is_neither_used_nor_cleared(tmp_path: Path, victim: Path) -> None:
    out = tmp_path / "out"
    (out / OUTPUT_ID).mkdir(parents=True)
    (out / OUTPUT_ID / ".staging").symlink_to(victim.parent, target_is_directory=True)
    with pytest.raises(UnsafePath):
        publishing.new_staging(out, OUTPUT_ID)
    with pytest.raises(UnsafePath):
        publishing.clear_staging(out, OUTPUT_ID)
    assert untouched(victim)


def test_an_edition_directory_linked_elsewhere_is_not_written_into(tmp_path: Path, victim: Path) -> None:
    out = tmp_path / "out"
    staging, m = stage(out, D1, "one")
    edition_dir(out, OUTPUT_ID, D1).symlink_to(victim.parent, target_is_directory=True)
    with pytest.raises(UnsafePath, match="2025-03-01 is a symbolic link"):
        publishing.publish(staging, m, out)
    assert untouched(victim)


def test_a_manifest_linked_to_a_victim_is_not_written_through(tmp_path: Path, victim: Path) -> None:
    out = tmp_path / "out"
    staging, m = stage(out, D1, "one")
    (staging / MANIFEST).symlink_to(victim)
    with pytest.raises(UnsafePath, match=r"manifest\.json is a symbolic link"):
        publishing.publish(staging, m, out)
    assert untouched(victim)


def test_a_latest_that_is_not_a_link_is_refused_and_a_foreign_link_is_replaced(tmp_path: Path, victim: Path) -> None:
    out = tmp_path / "out"
    publishing.publish(*stage(out, D1, "one"), out)
    link = latest_dir(out, OUTPUT_ID)
    link.unlink()
    link.symlink_to(victim.parent, target_is_directory=True)  # readers must not follow it out
    assert latest_edition(out, OUTPUT_ID) is None and published_publications(out) == []
    staging, m = stage(out, D2, "two")
    publishing.publish(staging, m, out)  # replaces the link itself, never writes into its target
    assert os.readlink(link) == "2025-04-01" and untouched(victim)
    link.unlink()
    link.mkdir()
    with pytest.raises(UnsafePath, match="latest is a directory where a symbolic link belongs"):
        publishing.publish(*stage(out, D2, "three"), out)


def test_atomic_path_refuses_a_linked_directory_below_its_root(tmp_path: Path, victim: Path) -> None:
    root = tmp_path / "site"
    root.mkdir()
    (root / "pub").symlink_to(victim.parent, target_is_directory=True)
    with pytest.raises(UnsafePath, match="pub is a symbolic link"):
        with atomic_path(root / "pub" / "index.html", root) as tmp:
            tmp.write_text("x")
    (root / "page.html").symlink_to(victim)
    with pytest.raises(UnsafePath, match=r"page\.html is a symbolic link"):
        with atomic_path(root / "page.html", root) as tmp:
            tmp.write_text("x")
    assert untouched(victim)


def test_the_reserved_id_site_is_refused(tmp_path: Path) -> None:
    with pytest.raises(publishing.ReservedPublicationId, match="'site' is reserved"):
        with publishing.lock(tmp_path, "site", "run"):
            pass
    assert not (tmp_path / "site").exists()


# ---- crash windows -------------------------------------------------------------------------


def archive_and_feed(out: Path, site: Path) -> tuple[list[str], list[str]]:
    publish_site(out, site, "Briefings")
    archive = etree.parse(str(site / OUTPUT_ID / "index.html"), etree.HTMLParser())
    feed = etree.parse(str(site / OUTPUT_ID / "feed.xml"))
    return (
        archive.xpath("//ul[@class='editions']//a/@href"),
        [e.findtext("a:updated", namespaces=ATOM)[:10] for e in feed.findall("a:entry", ATOM)],
    )


def test_a_leftover_latest_link_is_not_an_edition_and_is_cleaned(tmp_path: Path) -> None:
    out = tmp_path / "out"
    publishing.publish(*stage(out, D1, "one"), out)
    leftover = out / OUTPUT_ID / f".{LATEST}.4242.tmp"  # crash between symlink and os.replace
    leftover.symlink_to("2025-03-01", target_is_directory=True)
    (out / OUTPUT_ID / "2099-01-01").symlink_to("2025-03-01", target_is_directory=True)  # not briefkit's
    assert [m.edition for m in published_editions(out, OUTPUT_ID)] == [D1]
    assert archive_and_feed(out, tmp_path / "site") == (["2025-03-01/index.html"], ["2025-03-01"])
    found = publishing.clear_staging(out, OUTPUT_ID)
    assert found.removed == (leftover.name,) and not os.path.lexists(leftover)
    assert not publishing.clear_staging(out, OUTPUT_ID)  # nothing left the second time


def crash_before_latest_moved(out: Path, day: dt.date) -> tuple[Path, Manifest]:
    """Edition 'one' of D1 is published; publishing 'two' of ``day`` crashed after its rename."""
    publishing.publish(*stage(out, D1, "one"), out)
    staging, m = stage(out, day, "two")
    m = dataclasses.replace(m, revision=2 if day == D1 else 1, corrects="2025-03-01" if day == D1 else "")
    (staging / MANIFEST).write_text(m.to_json(), encoding="utf-8")
    os.rename(staging, edition_dir(out, OUTPUT_ID, m.edition_id))
    assert os.readlink(latest_dir(out, OUTPUT_ID)) == "2025-03-01"
    return staging, m


def test_crash_before_latest_moved_then_the_next_run_points_it(tmp_path: Path) -> None:
    out = tmp_path / "out"
    crash_before_latest_moved(out, D1)
    assert publishing.clear_staging(out, OUTPUT_ID).relinked == "2025-03-01-r2"  # the next run, under the lock
    assert notes(out) == "two"


def test_crash_before_latest_moved_then_a_retry_points_it(tmp_path: Path) -> None:
    out = tmp_path / "out"
    staging, m = crash_before_latest_moved(out, D2)
    edition, new = publishing.publish(staging, m, out)
    assert not new and edition.directory == edition_dir(out, OUTPUT_ID, D2)  # not published twice
    assert os.readlink(latest_dir(out, OUTPUT_ID)) == "2025-04-01"
    assert archive_and_feed(out, tmp_path / "site") == (
        ["2025-04-01/index.html", "2025-03-01/index.html"],
        ["2025-04-01", "2025-03-01"],
    )


def test_a_missing_latest_points_at_the_newest_edition_again(tmp_path: Path) -> None:
    out = tmp_path / "out"
    publishing.publish(*stage(out, D1, "one"), out)
    publishing.publish(*stage(out, D2, "two"), out)
    latest_dir(out, OUTPUT_ID).unlink()
    assert publishing.recover(out, OUTPUT_ID).relinked == "2025-04-01"
    assert notes(out) == "two"


def test_an_edition_is_never_replaced(tmp_path: Path) -> None:
    out = tmp_path / "out"
    staging, m = stage(out, D1, "one")
    edition_dir(out, OUTPUT_ID, D1).mkdir()  # empty, so that a rename would replace it silently
    (out / OUTPUT_ID / "2025-03-01-r2").mkdir()  # without a manifest: not an edition, but its name is taken
    edition, _ = publishing.publish(staging, m, out)
    assert edition.directory.name == "2025-03-01-r3" and not any(edition_dir(out, OUTPUT_ID, D1).iterdir())


def test_a_retry_whose_staging_is_gone_publishes_nothing_empty(tmp_path: Path) -> None:
    out = tmp_path / "out"
    publishing.publish(*stage(out, D1, "one"), out)
    staging, m = stage(out, D1, "two")
    publishing.clear_staging(out, OUTPUT_ID)  # e.g. another run cleared it
    with pytest.raises(FileNotFoundError, match="staging directory to publish is gone"):
        publishing.publish(staging, m, out)
    assert notes(out) == "one" and not staging.exists()
