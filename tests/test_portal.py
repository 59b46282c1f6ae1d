"""The reader portal: what the pages say, that every link works, atomic and idempotent publishing."""

from __future__ import annotations

import datetime as dt
import itertools
import re
import shutil
import threading
from pathlib import Path
from urllib.parse import unquote, urljoin

import pytest
from lxml import etree, html

from briefkit.distribution.portal import PortalError, publish_site
from briefkit.distribution.render import static
from briefkit.manifest import edition_dir, sha256_file
from tests.editions import publish_edition

D1, D2 = dt.date(2025, 3, 1), dt.date(2025, 4, 15)
ATOM = {"a": "http://www.w3.org/2005/Atom"}


@pytest.fixture
def output(tmp_path: Path) -> Path:
    out = tmp_path / "output"
    publish_edition(out, "test-brief", D1, latest=False)
    publish_edition(out, "test-brief", D2)
    publish_edition(out, "other-brief", D1, title="Other Brief", classification="", files={"pdf": b"%PDF-1.7 tiny"})
    return out


def pages(site: Path) -> list[Path]:
    return sorted(site.rglob("*.html"))


def links(page: Path) -> list[str]:
    return [a.get("href") for a in html.parse(str(page)).getroot().iter("a")]


def local_target(site: Path, page: Path, href: str) -> Path:
    url = urljoin(page.relative_to(site).as_posix(), href)
    return site / unquote(url.split("#")[0])


def test_index_has_one_compact_entry_per_publication_newest_first(output: Path, tmp_path: Path) -> None:
    site = tmp_path / "site"
    publish_site(output, site, "Briefings")
    root = html.parse(str(site / "index.html")).getroot()
    entries = root.xpath("//ul[@class='entries']/li")
    assert [" ".join(li.text_content().split()) for li in entries] == [
        "Test Brief 2025-04-15 OFFICIAL DOCX PDF EPUB",  # edited 15 April: first
        "Other Brief 2025-03-01 PDF",
    ]
    assert entries[0].find(".//h2/a").get("href") == "test-brief/index.html"  # the publication's page
    files = [a.get("href") for a in entries[0].xpath(".//a[@type]")]
    assert files == [
        f"test-brief/2025-04-15/test-brief-{n}" for n in ("briefing-pack.docx", "handout.pdf", "reader.epub")
    ]
    text = root.find(".//main").text_content()
    assert "Executive summary" not in text and "SHA-256" not in text and "About Test Brief." not in text


def test_the_publications_page_has_downloads_checksums_folded_summary_and_every_edition(
    output: Path, tmp_path: Path
) -> None:
    site = tmp_path / "site"
    publish_site(output, site, "Briefings")
    page = html.parse(str(site / "test-brief" / "index.html")).getroot()
    text = " ".join(page.text_content().split())
    for phrase in ("About Test Brief.", "15 April 2025", "OFFICIAL", "First passage: What the first passage says."):
        assert phrase in text
    assert [h.text_content() for h in page.iter("h1", "h2")] == [
        "Test Brief", "Downloads", "Executive summary", "All editions",
    ]  # fmt: skip
    downloads = page.xpath("//ul[@class='downloads']/li")
    assert len(downloads) == 3  # the latest edition's three formats
    for li in downloads:
        target = site / "test-brief" / li.find("a").get("href")
        assert D2.isoformat() in str(target) and str(target.stat().st_size) in li.text_content().replace(",", "")
        assert li.xpath("string(details[@class='sha']/code)") == sha256_file(target)  # folded in <details>
    assert [a.get("href") for a in page.xpath("//ul[@class='editions']/li/a")] == [
        "2025-04-15/index.html",
        "2025-03-01/index.html",
    ]
    old = site / "test-brief" / "2025-03-01" / "test-brief-handout.pdf"
    assert old.read_bytes() == (edition_dir(output, "test-brief", D1) / old.name).read_bytes()


def test_a_page_per_tag_lists_the_publications_with_it(tmp_path: Path) -> None:
    out, site = tmp_path / "output", tmp_path / "site"
    publish_edition(out, "air-brief", D1, title="Air Brief", tags=("nato", "air-defence"))
    publish_edition(out, "land-brief", D2, title="Land Brief", tags=("nato",))
    publish_edition(out, "plain-brief", D2, title="Plain Brief")
    publish_site(out, site, "Briefings")
    front = html.parse(str(site / "index.html")).getroot()
    assert [a.text_content() for a in front.xpath("//nav[@class='tags']//a")] == ["air-defence (1)", "nato (2)"]
    nato = html.parse(str(site / "tag-nato.html")).getroot()
    assert [h.text_content() for h in nato.iter("h2")] == ["Land Brief", "Air Brief"]
    assert nato.xpath("//a[@aria-current='page']/@href") == ["tag-nato.html"]
    air = html.parse(str(site / "air-brief" / "index.html")).getroot()
    assert air.xpath("//p[@class='tags']/a/@href") == ["../tag-nato.html", "../tag-air-defence.html"]
    feed = etree.parse(str(site / "tag-nato.xml"))  # and a feed per tag, to follow one subject
    assert [e.findtext("a:title", namespaces=ATOM) for e in feed.findall("a:entry", ATOM)] == [
        "Land Brief, edition 2025-04-15",
        "Air Brief, edition 2025-03-01",
    ]
    assert nato.xpath("//link[@rel='alternate']/@href") == ["tag-nato.xml"]
    publish_edition(out, "air-brief", D2, title="Air Brief", tags=("nato",))  # the tag is dropped: its page goes
    assert {"tag-air-defence.html", "tag-air-defence.xml"} <= set(publish_site(out, site, "Briefings").removed)


def test_a_feed_holds_the_newest_hundred_editions_and_the_site_every_one(tmp_path: Path) -> None:
    out, site = tmp_path / "output", tmp_path / "site"
    for n in range(120):
        publish_edition(out, "daily", D1 + dt.timedelta(days=n), files={"pdf": bytes([n])})
    publish_site(out, site, "Briefings")
    for feed in (site / "feed.xml", site / "daily" / "feed.xml"):
        updated = [e.findtext("a:updated", namespaces=ATOM) for e in etree.parse(str(feed)).findall("a:entry", ATOM)]
        assert len(updated) == 100 and updated[0] == f"{D1 + dt.timedelta(days=119)}T00:00:00Z", feed
    assert len(html.parse(str(site / "daily" / "index.html")).getroot().xpath("//ul[@class='editions']/li")) == 120


def test_every_link_on_every_page_resolves(output: Path, tmp_path: Path) -> None:
    site = tmp_path / "site"
    publish_site(output, site, "Briefings")
    assert len(pages(site)) == 1 + 2 + 3  # front, two archives, three editions
    for page in pages(site):
        for href in links(page):
            if not href.startswith("#"):
                assert local_target(site, page, href).is_file(), (page, href)


def test_pages_are_plain_and_accessible(output: Path, tmp_path: Path) -> None:
    site = tmp_path / "site"
    publish_site(output, site, "Briefings")
    for page in pages(site):
        root = html.parse(str(page)).getroot()
        assert root.get("lang") == "en"
        assert root.xpath("//meta[@name='viewport']")
        assert not root.xpath("//script") and "javascript:" not in page.read_text()
        levels = [int(h.tag[1]) for h in root.iter("h1", "h2", "h3", "h4", "h5", "h6")]
        assert levels[0] == 1 and levels.count(1) == 1, page
        assert all(b - a <= 1 for a, b in itertools.pairwise(levels)), (page, levels)
        assert all(a.text_content().strip() for a in root.iter("a")), page


def test_values_are_escaped(tmp_path: Path) -> None:
    out, site = tmp_path / "output", tmp_path / "site"
    nasty = "<script>alert(\"x\")</script> & <b>Co</b> 'q'"
    publish_edition(out, "nasty", D1, title=nasty, classification="<i>SECRET</i>")
    publish_site(out, site, "<Site & Title>")
    for page in pages(site):
        root = html.parse(str(page)).getroot()
        assert not root.xpath("//script|//b|//i"), page
    front = html.parse(str(site / "index.html")).getroot()
    assert front.find(".//h2").text_content() == nasty
    assert front.find(".//title").text == "<Site & Title>"
    feed = etree.parse(str(site / "nasty" / "feed.xml"))
    assert feed.findtext("a:title", namespaces=ATOM) == nasty


def test_feeds_have_an_entry_per_edition(output: Path, tmp_path: Path) -> None:
    site = tmp_path / "site"
    publish_site(output, site, "Briefings", "https://briefs.example.org/portal")
    feed = etree.parse(str(site / "test-brief" / "feed.xml"))
    entries = feed.findall("a:entry", ATOM)
    assert [e.findtext("a:updated", namespaces=ATOM) for e in entries] == [
        "2025-04-15T00:00:00Z",
        "2025-03-01T00:00:00Z",
    ]
    assert feed.findtext("a:updated", namespaces=ATOM) == "2025-04-15T00:00:00Z"
    assert feed.find("a:author/a:name", ATOM).text == "Briefings"
    assert feed.find("a:link[@rel='self']", ATOM).get("href") == "https://briefs.example.org/portal/test-brief/feed.xml"
    ids = [e.findtext("a:id", namespaces=ATOM) for e in entries]
    assert len(set(ids)) == 2 and all(i.startswith("urn:uuid:") for i in ids)
    enclosures = entries[0].findall("a:link[@rel='enclosure']", ATOM)
    assert len(enclosures) == 3
    for link in enclosures:
        path = site / link.get("href").removeprefix("https://briefs.example.org/portal/")
        assert int(link.get("length")) == path.stat().st_size
    everything = etree.parse(str(site / "feed.xml")).findall("a:entry", ATOM)
    assert len(everything) == 3
    assert ids[1] in [e.findtext("a:id", namespaces=ATOM) for e in everything]  # an edition keeps its id in both feeds


def test_republishing_changes_no_bytes(output: Path, tmp_path: Path) -> None:
    site = tmp_path / "site"
    first = publish_site(output, site, "Briefings")
    before = {p: (p.read_bytes(), p.stat().st_mtime_ns, p.stat().st_ino) for p in site.rglob("*") if p.is_file()}
    second = publish_site(output, site, "Briefings")
    after = {p: (p.read_bytes(), p.stat().st_mtime_ns, p.stat().st_ino) for p in site.rglob("*") if p.is_file()}
    assert second.written == () and second.removed == () and second.unchanged == len(first.written)
    assert after == before


def test_write_order_puts_links_after_their_targets(output: Path, tmp_path: Path) -> None:
    site = tmp_path / "site"
    publish_site(output, site, "Briefings")
    publish_edition(output, "test-brief", dt.date(2025, 5, 1))
    report = publish_site(output, site, "Briefings")
    written = list(report.written)
    assert written[-1] == "index.html"
    assert all(
        written.index(f"test-brief/2025-05-01/{n}") < written.index("test-brief/2025-05-01/index.html")
        for n in ("test-brief-handout.pdf", "test-brief-reader.epub")
    )
    assert (
        written.index("test-brief/2025-05-01/index.html")
        < written.index("test-brief/index.html")
        < written.index("feed.xml")
    )
    assert not any(w.startswith("test-brief/2025-03-01/") or w.startswith("other-brief/") for w in written[:-3])


def test_a_reader_during_publishing_never_sees_a_partial_page_or_dead_link(tmp_path: Path) -> None:
    out, site = tmp_path / "output", tmp_path / "site"
    publish_edition(out, "live", D1)
    publish_site(out, site, "Briefings")
    done = threading.Event()
    problems: list[str] = []
    reads = 0

    def reader() -> None:
        nonlocal reads
        while not done.is_set() or reads == 0:
            index = (site / "index.html").read_text(encoding="utf-8")
            if not index.rstrip().endswith("</html>"):
                problems.append("partial index.html")
            for href, sha in re.findall(r'<a href="([^"]+)" download.*?<code>([0-9a-f]{64})</code>', index, re.S):
                target = site / href
                if not target.is_file() or sha256_file(target) != sha:
                    problems.append(f"dead or wrong link {href}")
            reads += 1

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        for n in range(1, 13):
            publish_edition(
                out,
                "live",
                D1 + dt.timedelta(days=n),
                files={"pdf": bytes([n]) * 200_000, "epub": bytes([n + 1]) * 150_000},
            )
            publish_site(out, site, "Briefings")
    finally:
        done.set()
        thread.join()
    assert reads > 0 and problems == []


def test_a_file_that_does_not_match_its_manifest_is_never_published(output: Path, tmp_path: Path) -> None:
    site = tmp_path / "site"
    publish_site(output, site, "Briefings")
    index = (site / "index.html").read_bytes()
    m = publish_edition(output, "test-brief", dt.date(2025, 6, 1))
    (edition_dir(output, "test-brief", m.edition) / m.files[0].name).write_bytes(b"tampered")
    with pytest.raises(PortalError, match="sha256"):
        publish_site(output, site, "Briefings")
    assert (site / "index.html").read_bytes() == index
    assert not (site / "test-brief" / "2025-06-01" / m.files[0].name).exists()


def test_stale_pages_go_but_foreign_files_stay(output: Path, tmp_path: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    (site / "robots.txt").write_text("User-agent: *\n")
    publish_site(output, site, "Briefings")
    shutil.rmtree(edition_dir(output, "test-brief", D1))
    report = publish_site(output, site, "Briefings")
    assert "test-brief/2025-03-01/index.html" in report.removed
    assert not (site / "test-brief" / "2025-03-01").exists()
    assert (site / "robots.txt").is_file()


def test_empty_output_gives_a_front_page(tmp_path: Path) -> None:
    publish_site(tmp_path / "nothing", tmp_path / "site", "Briefings")
    assert "Nothing has been published yet." in (tmp_path / "site" / "index.html").read_text()


def _luminance(hex_color: str) -> float:
    channels = [int(hex_color[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    lin = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def test_colours_meet_wcag_aa_contrast() -> None:
    colours = dict(re.findall(r"--([a-z-]+):\s*(#[0-9a-fA-F]{6})", static("style.css").decode()))
    for fg, bg in (("fg", "bg"), ("muted", "bg"), ("link", "bg"), ("banner-fg", "banner-bg")):
        light, dark = sorted((_luminance(colours[fg]), _luminance(colours[bg])), reverse=True)
        assert (light + 0.05) / (dark + 0.05) >= 4.5, (fg, bg)


def test_publishing_one_publication_publishes_no_other(tmp_path: Path) -> None:
    out, site = tmp_path / "output", tmp_path / "site"
    publish_edition(out, "first-brief", dt.date(2025, 3, 1))
    publish_edition(out, "second-brief", dt.date(2025, 3, 1))
    publish_site(out, site, "Briefings")
    publish_edition(out, "first-brief", dt.date(2025, 4, 1))  # built, not yet published
    publish_edition(out, "second-brief", dt.date(2025, 4, 1))

    publish_site(out, site, "Briefings", publications=["second-brief"])
    assert (site / "second-brief" / "2025-04-01" / "index.html").is_file()
    assert not (site / "first-brief" / "2025-04-01").exists()
    assert (site / "first-brief" / "2025-03-01" / "index.html").is_file()  # what it had stays
    front = (site / "index.html").read_text(encoding="utf-8")
    assert "first-brief/2025-03-01/" in front and "first-brief/2025-04-01/" not in front

    publish_site(out, site, "Briefings")  # every publication
    assert (site / "first-brief" / "2025-04-01" / "index.html").is_file()


def test_a_publication_never_published_stays_off_the_portal_when_another_is_published(tmp_path: Path) -> None:
    out, site = tmp_path / "output", tmp_path / "site"
    publish_edition(out, "first-brief")
    publish_site(out, site, "Briefings", publications=["first-brief"])
    publish_edition(out, "second-brief")
    publish_site(out, site, "Briefings", publications=["first-brief"])
    assert not (site / "second-brief").exists() and "second-brief" not in (site / "index.html").read_text()
