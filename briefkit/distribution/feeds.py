"""Atom feeds (RFC 4287): one entry per edition, so feed readers pick up new editions.

Every value comes from the manifests, never the clock, so an unchanged site gives
unchanged feed bytes. Ids are UUIDs derived from publication and edition id: they stay the
same when the site moves to another address, and a correction (``-r2``) is an entry of its own.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Sequence

from lxml import etree

from briefkit.distribution.render import edition_label, environment
from briefkit.manifest import Manifest

ATOM = "http://www.w3.org/2005/Atom"
_NS = uuid.UUID("5d3b8f1e-6f38-4c55-9a43-6c0e7d1b2a90")  # briefkit's namespace for feed ids
ENTRIES = 100  # a feed holds the newest editions only: readers poll it, and every edition stays on the site


def feed_id(key: str) -> str:
    return f"urn:uuid:{uuid.uuid5(_NS, key)}"


def _stamp(day: dt.date) -> str:
    return f"{day.isoformat()}T00:00:00Z"


def _sub(parent: etree._Element, tag: str, text: str = "", **attrs: str) -> etree._Element:
    element = etree.SubElement(parent, f"{{{ATOM}}}{tag}", attrs)
    if text:
        element.text = text
    return element


def atom_feed(
    key: str,
    title: str,
    author: str,
    self_href: str,
    alternate_href: str,
    editions: Sequence[Manifest],
    url: Callable[[str], str],
) -> bytes:
    """A feed of the newest ``ENTRIES`` of ``editions`` (newest first); ``url`` turns a site path into a link."""
    editions = editions[:ENTRIES]
    feed = etree.Element(f"{{{ATOM}}}feed", nsmap={None: ATOM})
    _sub(feed, "id", feed_id(key))
    _sub(feed, "title", title)
    _sub(feed, "updated", _stamp(max((m.edition for m in editions), default=dt.date(1970, 1, 1))))
    _sub(_sub(feed, "author"), "name", author)
    _sub(feed, "link", rel="self", type="application/atom+xml", href=self_href)
    _sub(feed, "link", rel="alternate", type="text/html", href=alternate_href)
    summary_list = environment().get_template("macros.html.j2").module.summary_list  # type: ignore[attr-defined]
    for m in editions:
        base = f"{m.publication_id}/{m.edition_id}/"
        entry = _sub(feed, "entry")
        _sub(entry, "id", feed_id(f"{m.publication_id}/{m.edition_id}"))
        _sub(entry, "title", f"{m.title}, {edition_label(m)}")
        _sub(entry, "updated", _stamp(m.edition))
        _sub(entry, "link", rel="alternate", type="text/html", href=url(base + "index.html"))
        for f in m.files:
            _sub(
                entry,
                "link",
                rel="enclosure",
                type=f.media_type,
                length=str(f.bytes),
                title=f.label,
                href=url(base + f.name),
            )
        if m.description:
            _sub(entry, "summary", m.description)
        _sub(entry, "content", str(summary_list(m)).strip(), type="html")
    return etree.tostring(feed, xml_declaration=True, encoding="utf-8", pretty_print=True)
