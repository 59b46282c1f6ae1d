"""The portal in a real browser: Debian's chromium, driven over the DevTools protocol.

Chromium opens the site from a local HTTP server on 127.0.0.1, fetches every download
link itself and hashes what it received (crypto.subtle), on every page from the front
page through the archive to each older edition; the hashes must match the manifests.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import itertools
import json
import shutil
import subprocess
import time
import urllib.request
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from websockets.sync.client import ClientConnection, connect

from briefkit.distribution.portal import publish_site
from briefkit.distribution.server import serving
from briefkit.manifest import published_editions
from briefkit.markdown import parse_body
from briefkit.model import Publication
from exporters import epub, registry
from exporters.verify import verify
from tests.editions import publish_edition

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
pytestmark = [pytest.mark.slow, pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="chromium is not installed")]

FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run", "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0",
]  # fmt: skip

# Runs in the page: every download link, fetched by the browser and hashed.
FETCH_DOWNLOADS = """
(async () => {
  const hex = (buf) => [...new Uint8Array(buf)].map((b) => b.toString(16).padStart(2, "0")).join("");
  const out = [];
  for (const a of document.querySelectorAll("a[download]")) {
    const response = await fetch(a.href);
    const body = await response.arrayBuffer();
    out.push({href: a.href, status: response.status, bytes: body.byteLength,
              sha256: hex(await crypto.subtle.digest("SHA-256", body)),
              listed: a.closest("li").querySelector("code").textContent});
  }
  return JSON.stringify(out);
})()
"""
# Runs in the page: the elements reaching past the right edge of the screen, with their text.
WIDER_THAN_THE_SCREEN = """[...document.querySelectorAll("body *")]
  .filter((e) => e.getBoundingClientRect().right > window.innerWidth).map((e) => e.textContent.slice(0, 60))"""
FETCH_LINKS = """
(async () => JSON.stringify(await Promise.all([...document.querySelectorAll("a[href]")]
  .filter((a) => !a.hasAttribute("download") && !a.getAttribute("href").startsWith("#"))
  .map(async (a) => [a.href, (await fetch(a.href)).status]))))()
"""


class DevTools:
    """The few DevTools protocol calls this test needs, over one page's websocket."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.ids = itertools.count(1)

    def call(self, method: str, **params: object) -> dict:
        n = next(self.ids)
        self.ws.send(json.dumps({"id": n, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.recv(timeout=60))
            if message.get("id") == n:
                assert "error" not in message, message
                return message["result"]

    def wait_event(self, method: str) -> None:
        while json.loads(self.ws.recv(timeout=60)).get("method") != method:
            pass

    def open(self, url: str) -> None:
        self.call("Page.navigate", url=url)
        self.wait_event("Page.loadEventFired")

    def evaluate(self, expression: str) -> object:
        result = self.call("Runtime.evaluate", expression=expression, awaitPromise=True, returnByValue=True)
        assert "exceptionDetails" not in result, result
        return result["result"]["value"]


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[DevTools]:
    profile = tmp_path / "chromium-profile"
    process = subprocess.Popen(
        [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", "about:blank"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        active = profile / "DevToolsActivePort"
        deadline = time.monotonic() + 60
        while not (active.is_file() and active.read_text().count("\n") >= 1):
            assert process.poll() is None and time.monotonic() < deadline, "chromium did not start"
            time.sleep(0.1)
        port = active.read_text().split("\n")[0]
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=30) as response:
            page = next(t for t in json.load(response) if t["type"] == "page")
        with connect(page["webSocketDebuggerUrl"], max_size=None, open_timeout=30) as ws:
            tools = DevTools(ws)
            tools.call("Page.enable")
            yield tools
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_chromium_downloads_every_file_with_the_manifest_checksum(browser: DevTools, tmp_path: Path) -> None:
    out, site = tmp_path / "output", tmp_path / "site"
    publish_edition(out, "test-brief", dt.date(2025, 3, 1), latest=False)
    publish_edition(out, "test-brief", dt.date(2025, 4, 15), title="Test Brief: «Ünïcode» & more")
    publish_edition(
        out,
        "other-brief",
        dt.date(2025, 2, 1),
        title="Other Brief",
        files={"pdf": b"%PDF-1.7\n" + bytes(range(256)) * 50},
    )
    publish_site(out, site, "Briefings")
    manifests = {
        (m.publication_id, m.edition.isoformat(), f.name): f.sha256
        for pub in ("test-brief", "other-brief")
        for m in published_editions(out, pub)
        for f in m.files
    }

    with serving(site) as base:
        browser.call("Emulation.setDeviceMetricsOverride", width=390, height=844, deviceScaleFactor=1, mobile=True)
        browser.open(base + "index.html")
        assert browser.evaluate("document.documentElement.lang") == "en"
        assert browser.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), (
            "the page scrolls sideways on a phone"
        )
        shot = base64.b64decode(
            browser.call("Page.captureScreenshot", format="png", captureBeyondViewport=True)["data"]
        )
        (tmp_path / "portal.png").write_bytes(shot)
        assert shot.startswith(b"\x89PNG") and len(shot) > 10_000

        pages = [base + "index.html"]
        pages += [base + f"{pub}/index.html" for pub in ("test-brief", "other-brief")]
        pages += [base + f"{pub}/{ed}/index.html" for pub, ed, _ in manifests]
        fetched: dict[tuple[str, str, str], str] = {}
        for url in dict.fromkeys(pages):
            browser.open(url)
            assert all(status == 200 for _, status in json.loads(browser.evaluate(FETCH_LINKS))), url
            for d in json.loads(browser.evaluate(FETCH_DOWNLOADS)):
                assert d["status"] == 200 and d["sha256"] == d["listed"], d
                pub, ed, name = d["href"].removeprefix(base).split("/")
                fetched[(pub, ed, name)] = d["sha256"]
    assert fetched == manifests  # every file of every edition, as the manifests say


# Runs in the page: how the front (or a tag) page lays out its entries, and whether it scrolls sideways.
LAYOUT = """
(() => {
  const list = document.querySelector("ul.entries");
  return JSON.stringify({entries: list.children.length, list: list.getBoundingClientRect().height,
                         page: document.scrollingElement.scrollHeight, header: list.offsetTop,
                         scroll: document.scrollingElement.scrollWidth, width: window.innerWidth});
})()
"""
TOPICS = ("Ukraine", "Baltic security", "The Sahel", "Indo-Pacific", "Energy and grids")
TAGS = ("nato", "europe", "africa", "asia", "energy")


def test_the_front_page_stays_compact_with_fifty_publications_on_a_phone_and_a_desktop(
    browser: DevTools, tmp_path: Path
) -> None:
    out, site = tmp_path / "output", tmp_path / "site"
    for n in range(50):
        publish_edition(
            out,
            f"brief-{n:02d}",
            dt.date(2025, 1, 1) + dt.timedelta(days=n),
            title=f"Weekly brief {n}: {TOPICS[n % 5]}",
            tags=(TAGS[n % 5], "weekly"),
        )
    publish_site(out, site, "Briefings")
    with serving(site) as base:
        for width, height, mobile in ((390, 844, True), (1280, 800, False)):
            browser.call(
                "Emulation.setDeviceMetricsOverride", width=width, height=height, deviceScaleFactor=1, mobile=mobile
            )
            browser.open(base + "index.html")
            front = json.loads(browser.evaluate(LAYOUT))
            assert front["entries"] == 50 and front["list"] < 50 * 50, (width, front)  # under 50 px an entry
            assert front["page"] < front["list"] + 500, (width, front)  # heading, tags and footer: one screen at most
            assert front["scroll"] <= front["width"], (width, front)  # no sideways scrolling
            first = browser.evaluate("document.querySelector('ul.entries h2').textContent")
            assert first == "Weekly brief 49: Energy and grids"  # the newest edition first
            browser.open(base + "tag-asia.html")  # a tag's page: the filter, without JavaScript
            tagged = json.loads(browser.evaluate(LAYOUT))
            assert tagged["entries"] == 10 and tagged["scroll"] <= tagged["width"], (width, tagged)
            browser.open(base + "brief-03/index.html")  # the publication's page, every checksum unfolded
            browser.evaluate("document.querySelectorAll('details').forEach((d) => { d.open = true; }); true")
            assert browser.evaluate("document.scrollingElement.scrollWidth <= window.innerWidth"), width
            assert browser.evaluate("document.querySelectorAll('details code').length") == 3


def test_the_epubs_pages_fit_a_phone_with_a_table_of_sources_and_long_urls(
    browser: DevTools, seed: Publication, tmp_path: Path
) -> None:
    # a table whose URLs would widen their column past the screen, which a paginated reader cuts
    # off, unless they break after a '/'; a URL and inline code longer than the screen
    url = "https://example.org/reports/2025/" + "annexes" * 10
    rows = "".join(
        f"| {name} | {cost:,} | https://gov.example/defence/2025/support-package-{n}/annex-b/table-4.pdf | {note} |\n"
        for n, (name, cost, note) in enumerate([("Air defence", 1250, "Three tranches"), ("Training", 340, "Ongoing")])
    )
    markdown = f"See {url} or `{url}`.\n\n| Option | Cost | Source | Notes |\n|---|--:|---|---|\n{rows}"
    body = parse_body(markdown, Path("x.md"), 1)
    assert not body.diagnostics, body.diagnostics
    passage = dataclasses.replace(seed.passages[0], blocks=body.blocks, notes=body.notes)
    publication = dataclasses.replace(seed, passages=(passage, *seed.passages[1:]))
    book = epub.export(publication, tmp_path)
    verify(publication, registry.get("epub"), book)  # the <wbr> add no text
    unpacked = tmp_path / "book"
    zipfile.ZipFile(book).extractall(unpacked)
    # a screen 360 px wide: not "mobile", whose layout viewport is 980 px for a page without a viewport meta
    browser.call("Emulation.setDeviceMetricsOverride", width=360, height=740, deviceScaleFactor=1, mobile=False)
    pages = sorted(unpacked.rglob("*.xhtml"))
    assert any("support-package-1" in page.read_text(encoding="utf-8") for page in pages)
    for page in pages:
        browser.open(page.as_uri())
        assert not browser.evaluate(WIDER_THAN_THE_SCREEN), page.name
