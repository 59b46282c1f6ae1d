"""The reader portal: a static site of every published edition, written atomically.

    <site>/index.html                   every publication's latest edition
    <site>/feed.xml                     Atom feed of every edition of every publication
    <site>/<pub>/index.html, feed.xml   the archive of one publication and its feed
    <site>/<pub>/<edition>/index.html   one edition, with its files beside it

Each file is written to a temporary name and moved into place with os.replace, files
before the pages that link them and the front page last, so a reader fetching during a
publish sees either the old or the new version of every file and never a dead link.
Files whose bytes are already right are not touched, so re-publishing changes nothing.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from briefkit.atomic import atomic_path
from briefkit.distribution.feeds import atom_feed
from briefkit.distribution.render import render, static
from briefkit.loader import SLUG
from briefkit.manifest import (
    Manifest,
    ManifestFile,
    edition_dir,
    latest_dir,
    published_editions,
    published_publications,
    read_manifest,
    sha256_file,
)

SITE_LISTING = ".briefkit-site.json"  # the files this portal wrote, so it removes only its own
# Write order: what pages link to first, the front page last.
_FILES, _EDITION_PAGES, _ARCHIVES, _FEEDS, _FRONT = range(5)


class PortalError(Exception):
    pass


@dataclass(frozen=True)
class SiteFile:
    path: str  # relative to the web root, with '/'
    order: int
    data: bytes | None = None  # a rendered page, or
    source: Path | None = None  # a published file, copied and checked against sha256
    sha256: str = ""


@dataclass(frozen=True)
class PublicationView:
    latest: Manifest
    editions: list[Manifest]

    def href(self, f: ManifestFile) -> str:
        return edition_path(self.latest) + quote(f.name)


@dataclass(frozen=True)
class SiteReport:
    written: tuple[str, ...]
    unchanged: int
    removed: tuple[str, ...]


def normal_base(site_url: str) -> str:
    """The site's public URL with exactly one trailing slash, or "" for relative links."""
    return site_url.rstrip("/") + "/" if site_url else ""


def edition_path(m: Manifest) -> str:
    return f"{m.publication_id}/{m.edition.isoformat()}/"


def _checked(m: Manifest) -> Manifest:
    if not SLUG.match(m.publication_id) or any(f.name != Path(f.name).name or f.name.startswith(".") for f in m.files):
        raise PortalError(f"manifest of {m.publication_id} {m.edition} names a file outside its edition")
    return m


def plan_site(output: Path, site_title: str, base_url: str = "") -> list[SiteFile]:
    """Every file the site should hold, rendered from the editions published under ``output``."""
    views: list[PublicationView] = []
    for pub in published_publications(output):
        latest = read_manifest(latest_dir(output, pub))
        if latest is not None and SLUG.match(pub):
            views.append(PublicationView(_checked(latest), [_checked(m) for m in published_editions(output, pub)]))

    base_url = normal_base(base_url)

    def url_from(prefix: str) -> Callable[[str], str]:
        return lambda path: (base_url or prefix) + path

    files = [SiteFile("style.css", _FILES, static("style.css"))]
    common = {"site_title": site_title}
    for view in views:
        pub = view.latest.publication_id
        for m in view.editions:
            path = edition_path(m)
            for f in m.files:
                files.append(
                    SiteFile(
                        path + f.name, _FILES, source=edition_dir(output, pub, m.edition) / f.name, sha256=f.sha256
                    )
                )
            page = render("edition.html.j2", m=m, href=lambda f: quote(f.name), root="../../", **common)
            files.append(SiteFile(path + "index.html", _EDITION_PAGES, page.encode()))
        archive = render("archive.html.j2", latest=view.latest, editions=view.editions, root="../", **common)
        files.append(SiteFile(f"{pub}/index.html", _ARCHIVES, archive.encode()))
        feed = atom_feed(
            pub,
            view.latest.title,
            site_title,
            url_from("../")(f"{pub}/feed.xml"),
            url_from("../")(f"{pub}/index.html"),
            view.editions,
            url_from("../"),
        )
        files.append(SiteFile(f"{pub}/feed.xml", _FEEDS, feed))
    everything = sorted(
        (m for v in views for m in v.editions), key=lambda m: (m.edition, m.publication_id), reverse=True
    )
    files.append(
        SiteFile(
            "feed.xml",
            _FEEDS,
            atom_feed(
                "site",
                site_title,
                site_title,
                url_from("")("feed.xml"),
                url_from("")("index.html"),
                everything,
                url_from(""),
            ),
        )
    )
    files.append(
        SiteFile("index.html", _FRONT, render("index.html.j2", publications=views, root="", **common).encode())
    )
    return files


def _is_current(dest: Path, item: SiteFile) -> bool:
    if not dest.is_file():
        return False
    if item.data is not None:
        return dest.read_bytes() == item.data
    return sha256_file(dest) == item.sha256


def _install(dest: Path, item: SiteFile) -> None:
    """Put ``item`` at ``dest`` in one step; a published file must match its manifest."""
    with atomic_path(dest) as tmp:
        if item.data is not None:
            tmp.write_bytes(item.data)
        else:
            assert item.source is not None
            shutil.copyfile(item.source, tmp)
            if sha256_file(tmp) != item.sha256:
                raise PortalError(f"{item.source} does not match the sha256 in its manifest; rebuild the edition")


def _previous_listing(root: Path) -> set[str]:
    try:
        return set(json.loads((root / SITE_LISTING).read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError):
        return set()


def _remove_stale(root: Path, stale: set[str]) -> list[str]:
    removed: list[str] = []
    for rel in sorted(stale):
        path = root / rel
        if not path.resolve().is_relative_to(root.resolve()) or not path.is_file():
            continue
        path.unlink()
        removed.append(rel)
        for parent in path.parents:  # drop directories the removal emptied
            if parent == root or any(parent.iterdir()):
                break
            parent.rmdir()
    return removed


def publish_site(output: Path, site_root: Path, site_title: str, base_url: str = "") -> SiteReport:
    """Bring ``site_root`` up to date with ``output``; see the module docstring for the guarantees."""
    files = plan_site(output, site_title, base_url)
    root = site_root.resolve()
    root.mkdir(parents=True, exist_ok=True)
    written: list[str] = []
    for item in sorted(files, key=lambda f: f.order):
        dest = root / item.path
        if not _is_current(dest, item):
            _install(dest, item)
            written.append(item.path)
    paths = sorted(f.path for f in files)
    removed = _remove_stale(root, _previous_listing(root) - set(paths))
    listing = SiteFile(SITE_LISTING, _FRONT, (json.dumps(paths, indent=1) + "\n").encode())
    if not _is_current(root / SITE_LISTING, listing):
        _install(root / SITE_LISTING, listing)
    return SiteReport(tuple(written), len(files) - len(written), tuple(removed))
