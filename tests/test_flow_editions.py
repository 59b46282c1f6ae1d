"""Editions that never lie, on real builds: same-day corrections, whole editions, drafts, strictness.

Each test builds the seed publication on the session's Prefect server with the real exporters
and reads what readers would get back from disk: the edition directories and the portal.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from lxml import etree

from briefkit.distribution.portal import publish_site
from briefkit.manifest import edition_dirs, latest_dir, published_editions, read_manifest
from exporters import registry
from tests.test_flow_build import BuildFailed, artifact_text, edit, hashes, only, run, task_names

pytestmark = pytest.mark.slow
ATOM = {"a": "http://www.w3.org/2005/Atom"}


@pytest.fixture(autouse=True)
def server(prefect_server: str) -> str:
    return prefect_server


def page(path: Path) -> etree._ElementTree:
    return etree.parse(str(path), etree.HTMLParser())


def text(path: Path) -> str:
    """What a reader reads in the page's main part, white space collapsed."""
    return " ".join("".join(page(path).xpath("//main")[0].itertext()).split())


def feed_titles(path: Path) -> list[str]:
    return [e.findtext("a:title", namespaces=ATOM) for e in etree.parse(str(path)).findall("a:entry", ATOM)]


def test_a_same_day_correction_is_a_new_revision_beside_the_untouched_edition(seed_copy: Path, tmp_path: Path) -> None:
    output, site, pid = tmp_path / "output", tmp_path / "site", seed_copy.name
    only(seed_copy, "docx")
    state, [first] = run(seed_copy, output)
    assert state.is_completed(), state.message
    before = hashes(first.directory)

    edit(seed_copy)
    state, [second] = run(seed_copy, output)
    assert state.is_completed(), state.message
    assert second.status == "published" and second.directory == output / pid / "2025-03-01-r2"
    m = second.manifest
    assert (m.edition_id, m.revision, m.corrects) == ("2025-03-01-r2", 2, "2025-03-01")
    assert hashes(first.directory) == before  # the first edition, byte for byte
    assert read_manifest(first.directory) == first.manifest
    assert os.readlink(latest_dir(output, pid)) == "2025-03-01-r2"
    assert "correction of 2025-03-01" in artifact_text(state)

    publish_site(output, site, "Briefings")
    assert (site / pid / "2025-03-01" / "index.html").is_file()
    assert "correction of edition 2025-03-01" in text(site / pid / "2025-03-01-r2" / "index.html").lower()
    assert "correction" not in text(site / pid / "2025-03-01" / "index.html").lower()
    assert feed_titles(site / pid / "feed.xml") == [
        f"{m.title}, edition 2025-03-01-r2, correction of 2025-03-01",
        f"{m.title}, edition 2025-03-01",
    ]
    front = page(site / "index.html")
    assert front.xpath("//h2/a/@href") == [f"{pid}/index.html"]  # the publication's page
    assert front.xpath("//p[@class='entry']/a[time]/@href") == [f"{pid}/2025-03-01-r2/index.html"]
    assert "correction of 2025-03-01" in text(site / "index.html").lower()
    assert page(site / pid / "index.html").xpath("//ul[@class='editions']/li/a[1]/@href") == [
        "2025-03-01-r2/index.html",
        "2025-03-01/index.html",
    ]


def test_a_partial_build_keeps_the_edition_whole(seed_copy: Path, tmp_path: Path) -> None:
    output, pid = tmp_path / "output", seed_copy.name
    state, [first] = run(seed_copy, output)
    assert state.is_completed(), state.message

    edit(seed_copy)
    state, [second] = run(seed_copy, output, formats=["pdf"])
    assert state.is_completed(), state.message
    assert second.directory.name == "2025-03-01-r2"
    assert {f.format for f in second.manifest.files} == set(registry.names())  # every format, not just pdf
    assert sorted(n for n in task_names(state) if n.startswith("export")) == [
        f"export-{fmt}-{pid}" for fmt in sorted(registry.names())
    ]
    assert "rebuilt docx, epub too: the content changed since edition 2025-03-01" in artifact_text(state)
    assert all(second.manifest.file(f).sha256 != first.manifest.file(f).sha256 for f in registry.names())

    # unchanged content, --force for pdf only: pdf is made again, docx and epub are carried over,
    # and since the pdf comes out byte-identical, the edition is the same and nothing is published
    before = {d.name: hashes(d) for d in edition_dirs(output, pid)}
    state, [third] = run(seed_copy, output, formats=["pdf"], force=True)
    assert state.is_completed(), state.message
    assert third.status == "up to date" and third.directory == second.directory
    assert [n for n in task_names(state) if n.startswith(("export", "carry"))] == [
        f"carry-over-docx-{pid}",
        f"carry-over-epub-{pid}",
        f"export-pdf-{pid}",
    ]
    assert "carried over docx, epub from edition 2025-03-01-r2" in artifact_text(state)
    assert {d.name: hashes(d) for d in edition_dirs(output, pid)} == before
    assert os.readlink(latest_dir(output, pid)) == "2025-03-01-r2"


def test_asking_for_a_format_the_publication_does_not_list_is_refused(seed_copy: Path, tmp_path: Path) -> None:
    only(seed_copy, "docx")
    state, error = run(seed_copy, tmp_path / "output", formats=["pdf"])
    assert state.is_failed() and isinstance(error, BuildFailed)
    assert "pdf is not among the formats the publication lists (docx)" in error.outcomes[0].reason
    assert not (tmp_path / "output" / seed_copy.name).exists()


def test_a_draft_is_built_and_previewed_but_never_public(seed_copy: Path, tmp_path: Path) -> None:
    output, pid = tmp_path / "output", seed_copy.name
    only(seed_copy, "docx")
    state, _ = run(seed_copy, output)
    assert state.is_completed(), state.message
    only(seed_copy, more="status: draft\n")
    edit(seed_copy, "A sentence still under review.")
    state, [draft] = run(seed_copy, output)
    assert state.is_completed(), state.message
    assert draft.status == "draft" and draft.manifest.status == "draft"
    assert draft.directory.name == "2025-03-01-r2" and draft.manifest.corrects == "2025-03-01"
    assert os.readlink(latest_dir(output, pid)) == "2025-03-01"  # what readers get is unchanged
    assert [run(seed_copy, output)[1][0].status] == ["up to date"]  # a draft is up to date like any edition

    public, preview = tmp_path / "site", tmp_path / "preview"
    publish_site(output, public, "Briefings")
    assert not (public / pid / "2025-03-01-r2").exists()
    assert "2025-03-01-r2" not in (public / pid / "feed.xml").read_text(encoding="utf-8")
    assert page(public / "index.html").xpath("//p[@class='entry']/a[time]/@href") == [f"{pid}/2025-03-01/index.html"]
    assert "Draft" not in text(public / "index.html") + text(public / pid / "index.html")

    publish_site(output, preview, "Briefings", preview=True)
    assert text(preview / pid / "2025-03-01-r2" / "index.html").startswith("Draft: a preview, not published")
    assert page(preview / "index.html").xpath("//p[@class='entry']/a[time]/@href") == [
        f"{pid}/2025-03-01-r2/index.html"
    ]
    assert "Draft" in text(preview / "index.html") and "Draft" in text(preview / pid / "index.html")
    assert feed_titles(preview / pid / "feed.xml")[0].endswith("Draft: edition 2025-03-01-r2, correction of 2025-03-01")


def test_a_draft_only_publication_is_absent_from_the_public_portal(seed_copy: Path, tmp_path: Path) -> None:
    output = tmp_path / "output"
    only(seed_copy, "docx", more="status: draft\n")
    state, _ = run(seed_copy, output)
    assert state.is_completed(), state.message
    assert not os.path.lexists(latest_dir(output, seed_copy.name)) and published_editions(output, seed_copy.name)
    publish_site(output, tmp_path / "site", "Briefings")
    assert "Nothing has been published yet" in text(tmp_path / "site" / "index.html")
    publish_site(output, tmp_path / "preview", "Briefings", preview=True)
    assert (tmp_path / "preview" / seed_copy.name / "2025-03-01" / "index.html").is_file()


def test_strict_in_the_publication_blocks_a_build_with_warnings(seed_copy: Path, tmp_path: Path) -> None:
    only(seed_copy, "docx", more="strict: true\n")
    edit(seed_copy, "A sentence with a doubled  space.")  # BK204, a warning
    state, error = run(seed_copy, tmp_path / "output")
    assert state.is_failed() and isinstance(error, BuildFailed)
    [outcome] = error.outcomes
    assert outcome.status == "invalid" and {d.code for d in outcome.diagnostics} == {"BK204"}
    assert not (tmp_path / "output" / seed_copy.name).exists()
