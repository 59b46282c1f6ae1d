"""The reader portal: a static site of every published edition, written atomically.

    <site>/index.html                   one compact entry per publication, newest edition first
    <site>/tag-<tag>.html               the same, for the publications with one of the ``tags:``
    <site>/feed.xml                     Atom feed of every edition of every publication
    <site>/<pub>/index.html, feed.xml   the publication: its latest edition's downloads (checksums
                                        folded) and executive summary, every edition; its feed
    <site>/<pub>/<edition>/index.html   one edition (2026-12-03, a correction 2026-12-03-r2), its files beside it

Drafts are left out of the public site. A preview (``preview=True``, for ``briefkit open``,
written to a directory of its own) shows them too, each marked "Draft", and its front page
the newest edition of each publication, draft or not.

Each file is written to a temporary name and moved into place with os.replace, files
before the pages that link them and the front page last, so a reader fetching during a
publish sees either the old or the new version of every file and never a dead link.
Files whose bytes are already right are not touched, so re-publishing changes nothing.

The portal owns only what it wrote: it removes a file only if its own previous listing
names it, it lies inside the site root (reached without links) and not among the
published editions. Before the first write: a site directory that overlaps the output, a
reserved publication id, an edition whose manifest or files are wrong, or a link planted in
the site stops the run with PortalError, and then nothing is written or removed.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
from collections.abc import Callable, Collection
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from briefkit.atomic import UnsafePath, atomic_path, check_entry, open_regular, real_dir, real_dir_exists
from briefkit.distribution.feeds import atom_feed
from briefkit.distribution.render import render, static
from briefkit.loader import SLUG
from briefkit.manifest import (
    LATEST,
    MANIFEST,
    RESERVED_IDS,
    Manifest,
    ManifestError,
    ManifestFile,
    edition_dir,
    edition_dirs,
    latest_edition,
    load_manifest,
    published_publications,
    sha256_file,
)

SITE_LISTING = ".briefkit-site.json"  # the files this portal wrote, so it removes only its own
# Write order: what pages link to first, the front page last.
_FILES, _EDITION_PAGES, _ARCHIVES, _FEEDS, _FRONT = range(5)


class PortalError(Exception):
    """The portal was not updated, the message says why; only a failed write leaves it half updated,
    every file in it whole (old or new)."""


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
    return f"{m.publication_id}/{m.edition_id}/"


def check_places(output: Path, site_root: Path) -> None:
    """Refuse a site directory that overlaps the output directory: the portal would write among,
    and could remove, published editions. Inside the output only ``<output>/site`` is allowed,
    because ``site`` is never a publication id (RESERVED_IDS)."""
    out, site = output.resolve(), site_root.resolve()
    if out.is_relative_to(site):
        where = "is" if out == site else "is inside"
        raise PortalError(
            f"the output directory {out} {where} the site directory {site}: the portal must not write among "
            f"the published editions; use another site directory, e.g. {out / 'site'} (the default)"
        )
    if site.is_relative_to(out) and site.relative_to(out).parts[0] not in RESERVED_IDS:
        raise PortalError(
            f"the site directory {site} is inside the output directory {out}, where publications live; "
            f"use {out / 'site'} (the default) or a directory outside {out}"
        )


def _checked_edition(pub: str, directory: Path) -> Manifest:
    """The edition's manifest, checked against its directory and every file it lists."""
    try:
        m = load_manifest(directory)
    except ManifestError as exc:
        raise PortalError(str(exc)) from None
    if m.publication_id != pub or m.edition_id != directory.name:
        raise PortalError(f"{directory / MANIFEST} describes {m.publication_id} {m.edition_id}, not this edition")
    for f in m.files:
        path = directory / f.name
        if not path.is_file() or path.is_symlink():
            raise PortalError(f"{path} is listed in its manifest but is not a file there")
        if path.stat().st_size != f.bytes or sha256_file(path) != f.sha256:
            raise PortalError(f"{path} does not match the sha256 in its manifest")
    return m


def _view(output: Path, pub: str, preview: bool, on_site: set[str] | None = None) -> PublicationView | None:
    """The publication's editions, every one checked, drafts only in a preview; PortalError lists
    every problem found. The latest is where ``latest`` points, or in a preview the newest edition.
    With ``on_site`` (the site's files, for a publication outside the publish run's scope) only the
    editions already on the site, the newest of them the latest; None when it has none there."""
    if pub in RESERVED_IDS:
        raise PortalError(f"publication '{pub}': the id '{pub}' is reserved for the portal's directory")
    editions: list[Manifest] = []
    problems: list[str] = []
    for directory in edition_dirs(output, pub):
        try:
            editions.append(_checked_edition(pub, directory))
        except PortalError as exc:
            problems.append(str(exc))
        except OSError as exc:  # e.g. a file briefkit may not read
            problems.append(f"{directory}: {exc}")
    if problems:
        raise PortalError("\n".join(problems))
    if not preview:
        editions = [m for m in editions if not m.is_draft]
    if on_site is not None:
        editions = [m for m in editions if edition_path(m) + "index.html" in on_site]
        return PublicationView(editions[0], editions) if editions else None
    latest = latest_edition(output, pub)
    current = editions[0] if preview else next((m for m in editions if latest and m.edition_id == latest.name), None)
    if current is None:
        raise PortalError(_dangling(pub))
    return PublicationView(current, editions)


def _dangling(pub: str) -> str:
    return f"publication '{pub}': latest does not point at one of its editions; build it again to repair it"


def plan_site(
    output: Path,
    site_title: str,
    base_url: str = "",
    preview: bool = False,
    scope: Collection[str] | None = None,
    on_site: set[str] = frozenset(),
) -> list[SiteFile]:
    """Every file the site should hold, rendered from the editions published under ``output``
    (drafts too, marked, in a ``preview``). Publications outside ``scope`` (default: none) keep
    the editions they have ``on_site`` (the site's files): a run for one publication publishes no other.

    Raises PortalError naming every publication whose editions cannot be published as they are.
    """
    try:
        names = sorted(os.listdir(output)) if output.is_dir() else []
    except OSError as exc:
        raise PortalError(f"the output directory cannot be read: {exc}") from None
    publications = published_publications(output)
    if preview:  # a publication with only drafts has no latest
        publications = sorted({*publications, *(n for n in names if SLUG.match(n) and edition_dirs(output, n))})
    views: list[PublicationView] = []
    # e.g. a build interrupted mid-swap: an error, so that its pages are not removed meanwhile
    problems = [_dangling(n) for n in names if n not in publications and os.path.islink(output / n / LATEST)]
    for pub in publications:
        if not SLUG.match(pub):
            continue  # not a directory briefkit made
        try:
            outside = scope is not None and pub not in scope
            if (view := _view(output, pub, preview, on_site if outside else None)) is not None:
                views.append(view)
        except PortalError as exc:
            problems.append(str(exc))
        except OSError as exc:
            problems.append(f"publication '{pub}': {exc}")
    if problems:
        raise PortalError(
            "the portal was not updated (nothing written or removed), because:\n"
            + "\n".join(f"  {line}" for p in problems for line in p.splitlines())
            + "\nrebuild those editions (briefkit build <id> --force), or rename or remove them"
        )

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
                        path + f.name, _FILES, source=edition_dir(output, pub, m.edition_id) / f.name, sha256=f.sha256
                    )
                )
            page = render("edition.html.j2", m=m, href=lambda f: quote(f.name), root="../../", **common)
            files.append(SiteFile(path + "index.html", _EDITION_PAGES, page.encode()))
        archive = render(
            "archive.html.j2",
            href=lambda f, m=view.latest: f"{m.edition_id}/{quote(f.name)}",
            latest=view.latest,
            editions=view.editions,
            root="../",
            **common,
        )
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
    files += _front_pages(views, site_title, url_from(""))
    return files


def _front_pages(views: list[PublicationView], site_title: str, url: Callable[[str], str]) -> list[SiteFile]:
    """The front page and the site feed, and a page and feed per tag: static, so filtering needs
    no JavaScript; newest edition first. A tag's files sit beside index.html, never in a
    publication's directory."""
    views = sorted(views, key=lambda v: v.latest.publication_id)
    views.sort(key=lambda v: (v.latest.edition, v.latest.revision), reverse=True)
    tags = {t: sum(t in v.latest.tags for v in views) for t in sorted({t for v in views for t in v.latest.tags})}
    files = []
    for tag in (*tags, ""):  # the front page last: it links the pages of the tags
        shown = [v for v in views if not tag or tag in v.latest.tags]
        name = f"tag-{tag}" if tag else "index"
        feed = f"tag-{tag}.xml" if tag else "feed.xml"
        editions = sorted(
            (m for v in shown for m in v.editions),
            key=lambda m: (m.edition, m.revision, m.publication_id),
            reverse=True,
        )
        title = f"{site_title}: {tag}" if tag else site_title
        files.append(
            SiteFile(
                feed,
                _FEEDS,
                atom_feed(
                    f"tag/{tag}" if tag else "site", title, site_title, url(feed), url(f"{name}.html"), editions, url
                ),
            )
        )
        page = render(
            "index.html.j2", publications=shown, tags=tags, tag=tag, feed=feed, root="", site_title=site_title
        )
        files.append(SiteFile(f"{name}.html", _FRONT, page.encode()))
    return files


def _is_current(root: Path, item: SiteFile) -> bool:
    """Whether ``item`` is already in place; UnsafePath for a link on its way or in its place."""
    dest = root / item.path
    if not real_dir_exists(root, dest.parent) or not check_entry(dest, stat.S_IFREG):
        return False
    if item.data is not None:
        return dest.read_bytes() == item.data
    return sha256_file(dest) == item.sha256


def _install(root: Path, item: SiteFile) -> None:
    """Put ``item`` at its place below ``root`` in one step; a published file must match its manifest."""
    with atomic_path(root / item.path, root) as tmp:
        if item.data is not None:
            tmp.write_bytes(item.data)
        else:
            assert item.source is not None
            shutil.copyfile(item.source, tmp)
            if sha256_file(tmp) != item.sha256:  # changed since it was checked
                raise PortalError(f"{item.source} does not match the sha256 in its manifest; rebuild the edition")


def _plain(rel: object) -> bool:
    """Whether a listed path is one the portal could have written: relative, no dot-names, no tricks."""
    if not isinstance(rel, str) or "\\" in rel or "\0" in rel:
        return False
    parts = rel.split("/")
    return all(p and not p.startswith(".") for p in parts)


def _previous_listing(root: Path) -> set[str]:
    try:
        with open(open_regular(root / SITE_LISTING, os.O_RDONLY), encoding="utf-8") as f:
            listed = json.load(f)
    except (OSError, ValueError, UnsafePath):  # none, or unreadable: then nothing counts as the portal's own
        return set()
    return {rel for rel in listed if _plain(rel)} if isinstance(listed, list) else set()


def _owned(root: Path, rel: str, output: Path) -> bool:
    """Whether ``root/rel`` is a regular file reached through real directories, and not a published edition's."""
    path = root
    for part in rel.split("/")[:-1]:
        path = path / part
        if not stat.S_ISDIR(os.lstat(path).st_mode):
            return False
    path = root / rel
    target = path.resolve()
    # a site outside the output never removes anything in it (check_places already keeps them apart)
    outside_output = root.is_relative_to(output) or not target.is_relative_to(output)
    return stat.S_ISREG(os.lstat(path).st_mode) and target.is_relative_to(root) and outside_output


def _remove_stale(root: Path, stale: set[str], output: Path) -> list[str]:
    removed: list[str] = []
    for rel in sorted(stale):
        try:
            if not _owned(root, rel, output):
                continue
        except FileNotFoundError:
            continue
        path = root / rel
        path.unlink()
        removed.append(rel)
        for parent in path.parents:  # drop directories the removal emptied
            if parent == root or any(parent.iterdir()):
                break
            parent.rmdir()
    return removed


def publish_site(
    output: Path,
    site_root: Path,
    site_title: str,
    base_url: str = "",
    preview: bool = False,
    publications: Collection[str] | None = None,
) -> SiteReport:
    """Bring ``site_root`` up to date with ``output``; see the module docstring for the guarantees.
    With ``preview``, drafts are on it too: write a preview only to a directory of its own. With
    ``publications``, only theirs change; the others keep what the site has (the index and the
    site feed are written anew all the same).

    Raises PortalError before anything is written or removed for overlapping directories, a
    reserved publication id, a broken edition or a link planted in the site; and for a failed write.
    """
    check_places(output, site_root)
    root = site_root.resolve()
    on_site = _previous_listing(root) if publications is not None else set()
    files = plan_site(output, site_title, base_url, preview, publications, on_site)
    try:
        real_dir(root, root)
        paths = sorted(f.path for f in files)
        listing = SiteFile(SITE_LISTING, _FRONT, (json.dumps(paths, indent=1) + "\n").encode())
        previous = _previous_listing(root)
        # every place checked for planted links before the first write
        pending = [item for item in sorted(files, key=lambda f: f.order) if not _is_current(root, item)]
        listing_current = _is_current(root, listing)
        for item in pending:
            _install(root, item)
        removed = _remove_stale(root, previous - set(paths), output.resolve())
        if not listing_current:
            _install(root, listing)
    except UnsafePath as exc:
        raise PortalError(str(exc)) from None
    except OSError as exc:  # e.g. a full disk: every file already in place is whole, old or new
        raise PortalError(f"the portal could not be written completely: {exc}") from None
    return SiteReport(tuple(f.path for f in pending), len(files) - len(pending), tuple(removed))
