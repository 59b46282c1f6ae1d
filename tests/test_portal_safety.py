"""The portal deletes only what it owns and publishes only what checks out.

Overlapping site and output directories, a reserved publication id and every kind of
broken manifest stop the run with PortalError before anything is written or removed;
planted links in the site and a tampered listing never make it write or delete outside.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from briefkit.distribution.portal import SITE_LISTING, PortalError, publish_site
from briefkit.manifest import MANIFEST, edition_dir
from tests.editions import publish_edition

D1, D2 = dt.date(2025, 3, 1), dt.date(2025, 4, 15)


def snapshot(directory: Path) -> dict[str, bytes]:
    return {str(p.relative_to(directory)): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()}


@pytest.fixture
def output(tmp_path: Path) -> Path:
    out = tmp_path / "output"
    publish_edition(out, "test-brief", D1, latest=False)
    publish_edition(out, "test-brief", D2)
    publish_edition(out, "other-brief", D1, title="Other Brief", files={"pdf": b"%PDF-1.7 tiny"})
    return out


@pytest.mark.parametrize(
    "site",
    [
        lambda out: out,
        lambda out: out / "test-brief",
        lambda out: out / "test-brief" / "2025-04-15",
        lambda out: out / "portal",
        lambda out: out.parent,
    ],
    ids=["output itself", "a publication", "an edition", "another directory in output", "holding output"],
)
def test_a_site_overlapping_the_output_is_refused(output: Path, site: Callable[[Path], Path]) -> None:
    before = snapshot(output)
    with pytest.raises(PortalError, match="site directory"):
        publish_site(output, site(output), "Briefings")
    assert snapshot(output) == before


def test_the_default_site_inside_the_output_is_allowed(output: Path) -> None:
    publish_site(output, output / "site", "Briefings")
    assert (output / "site" / "index.html").is_file()
    assert publish_site(output, output / "site", "Briefings").written == ()


def test_a_publication_with_the_reserved_id_is_refused(output: Path, tmp_path: Path) -> None:
    publish_edition(output, "site", D1)
    with pytest.raises(PortalError, match="publication 'site': the id 'site' is reserved"):
        publish_site(output, tmp_path / "web", "Briefings")
    assert not (tmp_path / "web").exists()


def _bad_json(d: Path) -> None:
    (d / MANIFEST).write_text("{ not json")


def _field(name: str, value: object) -> Callable[[Path], None]:
    def change(d: Path) -> None:
        data = json.loads((d / MANIFEST).read_text())
        data[name] = value
        (d / MANIFEST).write_text(json.dumps(data))

    return change


def _file_field(name: str, value: object) -> Callable[[Path], None]:
    def change(d: Path) -> None:
        data = json.loads((d / MANIFEST).read_text())
        data["files"][0][name] = value
        (d / MANIFEST).write_text(json.dumps(data))

    return change


def _missing_file(d: Path) -> None:
    next(p for p in d.iterdir() if p.suffix == ".pdf").unlink()


BROKEN = {
    "bad JSON": (_bad_json, "not a briefkit manifest"),
    "missing manifest": (lambda d: (d / MANIFEST).unlink(), "is missing"),
    "wrong sha256": (_file_field("sha256", "0" * 64), "sha256"),
    "malformed sha256": (_file_field("sha256", "abc"), "sha256 is not 64 hex digits"),
    "control character": (_field("title", "Brief\x1b[2J\r\nX"), "title holds a control character"),
    "line separator": (_field("classification", "OFFICIAL\u2028X"), "classification holds a control character"),
    "path separator": (_file_field("name", "../../../etc/passwd"), "path separator"),
    "dot-dot": (_file_field("name", ".."), "not a plain file name"),
    "index page": (_file_field("name", "index.html"), "not a plain file name"),
    "missing file": (_missing_file, "not a file there"),
    "another edition's manifest": (_field("edition", "2025-01-01"), "not this edition"),
}


@pytest.mark.parametrize("case", BROKEN)
@pytest.mark.parametrize("where", ["separate site", "default site"])
def test_a_broken_edition_stops_the_run_and_nothing_is_removed(
    output: Path, tmp_path: Path, case: str, where: str
) -> None:
    site = tmp_path / "web" if where == "separate site" else output / "site"
    publish_site(output, site, "Briefings")
    before_site = snapshot(site)
    break_it, message = BROKEN[case]
    break_it(edition_dir(output, "test-brief", D2))
    before_output = snapshot(output)
    with pytest.raises(PortalError) as refused:
        publish_site(output, site, "Briefings")
    text = str(refused.value)
    assert message in text and "2025-04-15" in text and "nothing written or removed" in text
    assert snapshot(site) == before_site  # every page and file published before is still there
    assert snapshot(output) == before_output


def test_a_tampered_listing_never_removes_a_published_edition(output: Path, tmp_path: Path) -> None:
    site = output / "site"
    publish_site(output, site, "Briefings")
    listed = json.loads((site / SITE_LISTING).read_text())
    edition = edition_dir(output, "test-brief", D2)
    (site / "escape").symlink_to(edition, target_is_directory=True)
    names = [p.name for p in edition.iterdir()]
    listed += [f"../test-brief/2025-04-15/{n}" for n in names] + [f"escape/{n}" for n in names]
    listed += [str(edition / n) for n in names] + ["./robots.txt", ".git/config", "a\\b"]
    (site / SITE_LISTING).write_text(json.dumps(listed))
    before = snapshot(output / "test-brief")
    report = publish_site(output, site, "Briefings")
    assert report.removed == ()
    assert snapshot(output / "test-brief") == before


def test_links_planted_in_the_site_are_refused(output: Path, tmp_path: Path) -> None:
    site, victim = tmp_path / "web", tmp_path / "victim"
    victim.mkdir()
    (victim / "precious.txt").write_text("do not touch\n")
    site.mkdir()
    (site / "test-brief").symlink_to(victim, target_is_directory=True)
    with pytest.raises(PortalError, match="test-brief is a symbolic link"):
        publish_site(output, site, "Briefings")
    assert os.listdir(site) == ["test-brief"]  # refused before the first write
    (site / "test-brief").unlink()
    (site / "index.html").symlink_to(victim / "precious.txt")
    with pytest.raises(PortalError, match=r"index\.html is a symbolic link"):
        publish_site(output, site, "Briefings")
    (site / "index.html").unlink()
    (site / SITE_LISTING).symlink_to(victim / "precious.txt")
    with pytest.raises(PortalError, match="symbolic link"):
        publish_site(output, site, "Briefings")
    assert sorted(os.listdir(site)) == [SITE_LISTING]  # refused before the first write
    assert os.listdir(victim) == ["precious.txt"] and (victim / "precious.txt").read_text() == "do not touch\n"


def test_a_publication_whose_latest_dangles_is_an_error_not_an_unpublishing(output: Path, tmp_path: Path) -> None:
    site = tmp_path / "web"
    publish_site(output, site, "Briefings")
    before = snapshot(site)
    latest = output / "test-brief" / "latest"
    latest.unlink()
    latest.symlink_to("2025-05-01", target_is_directory=True)  # a build interrupted mid-swap
    with pytest.raises(PortalError, match="publication 'test-brief': latest does not point at one of its editions"):
        publish_site(output, site, "Briefings")
    assert snapshot(site) == before
