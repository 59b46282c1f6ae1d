"""`briefkit open`'s server on 127.0.0.1: the site's pages and files, and nothing else.

Real requests over a socket (http.client sends the raw path, so no client-side cleaning):
links out of the root, dot-names, directories without an index and malformed paths get
404 or 400, and the server prints no traceback for any of them.
"""

from __future__ import annotations

import datetime as dt
import http.client
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from briefkit.distribution.portal import SITE_LISTING, publish_site
from briefkit.distribution.server import serving
from tests.editions import publish_edition


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp_path = tmp_path_factory.mktemp("served")
    out, site = tmp_path / "output", tmp_path / "site"
    publish_edition(out, "test-brief", dt.date(2025, 3, 1))
    publish_site(out, site, "Briefings")
    secret = tmp_path / "secret.txt"
    secret.write_text("outside the site\n")
    (site / "etc").symlink_to("/etc", target_is_directory=True)
    (site / "secret.txt").symlink_to(secret)
    (site / "test-brief" / "linked.html").symlink_to(site / "index.html")
    (site / ".git").mkdir()
    (site / ".git" / "config").write_text("[core]\n")
    (site / "empty").mkdir()
    (site / "empty" / "note.txt").write_text("a directory without an index\n")
    return site


@pytest.fixture(scope="module")
def base(site: Path) -> Iterator[str]:
    with serving(site) as url:
        yield url


@pytest.fixture
def get(base: str, capfd: pytest.CaptureFixture[str]) -> Iterator[object]:
    where = urlsplit(base)

    def request(path: str, method: str = "GET") -> tuple[int, bytes, str]:
        connection = http.client.HTTPConnection(where.hostname, where.port, timeout=10)
        try:
            connection.putrequest(method, path, skip_accept_encoding=True)
            connection.endheaders()
            response = connection.getresponse()
            return response.status, response.read(), response.getheader("Location") or ""
        finally:
            connection.close()

    yield request
    assert "Traceback" not in "".join(capfd.readouterr())


def test_pages_and_files_are_served(get, site: Path) -> None:
    status, body, _ = get("/")
    assert status == 200 and body == (site / "index.html").read_bytes()
    status, body, _ = get("/test-brief/2025-03-01/test-brief-handout.pdf")
    assert status == 200 and body == (site / "test-brief/2025-03-01/test-brief-handout.pdf").read_bytes()
    assert get("/test-brief/index.html?x=1#top")[0] == 200
    assert get("/test-brief/2025-03-01/")[0] == 200
    assert get("/test-brief")[0:3:2] == (301, "/test-brief/")
    assert get("/index.html", "HEAD")[0] == 200


@pytest.mark.parametrize(
    "path",
    [
        "/etc/passwd",
        "/etc/",
        "/secret.txt",
        "/test-brief/linked.html",
        f"/{SITE_LISTING}",
        "/.git/config",
        "/.git/",
        "/empty/",
        "/empty",
        "/nothing-here",
        "/test-brief/2025-03-01/index.html/x",
        "//etc/passwd",
        "/a\\..\\index.html",
    ],
)
def test_what_the_portal_did_not_publish_is_not_found(get, path: str) -> None:
    status, body, _ = get(path)
    assert status == 404, (path, body)
    assert b"root:" not in body and b"outside the site" not in body


@pytest.mark.parametrize(
    "path",
    ["/%00", "/index.html%00.txt", "/%zz", "/%e9", "/../secret.txt", "/test-brief/%2e%2e/%2e%2e/secret.txt", "/./"],
)
def test_malformed_paths_are_bad_requests(get, path: str) -> None:
    status, body, _ = get(path)
    assert status == 400, (path, body)
