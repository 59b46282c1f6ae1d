"""The EPUB 3 reader: title page, executive summary, then the passages, each on a new page.

Content documents are built as lxml trees, so the serialiser escapes every text, and are
handed to ebooklib as finished items; ebooklib writes the package document, the
navigation document and the NCX. Each passage is a ``<section epub:type="chapter">``
with an id, linked from the table of contents: that is how ``read_back`` finds them.
Consecutive passages share a content document up to a size (``documents``), since every
document costs reading systems and EPUBCheck time of its own. The zip is re-packed with
fixed metadata so the same publication gives the same bytes.
"""

from __future__ import annotations

import copy
import datetime as dt
import re
import string
import tempfile
import uuid
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from ebooklib import epub
from lxml import etree

from briefkit.model import (
    Block,
    BlockQuote,
    Code,
    Emph,
    Figure,
    Footnote,
    Heading,
    Inline,
    Link,
    ListBlock,
    NoteRef,
    Paragraph,
    Passage,
    Publication,
    Strong,
    Table,
    Text,
    Theme,
    figure_prefix,
    figures,
    inline_text,
    outline,
    plain_text,
)
from exporters import epubcheck
from exporters.packaging import atomic_path, repack_zip
from exporters.registry import ReadBack, describe

XHTML = "http://www.w3.org/1999/xhtml"
OPS = "http://www.idpf.org/2007/ops"
EPUB_TYPE = f"{{{OPS}}}type"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
STYLESHEET = "style.css"
_H1, _SECTION, _IMG = f"{{{XHTML}}}h1", f"{{{XHTML}}}section", f"{{{XHTML}}}img"
_CSS = string.Template(resources.files("exporters").joinpath("epub.css").read_text(encoding="utf-8"))
_ID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "urn:briefkit:publication")


@dataclass(frozen=True)
class _Labels:
    """Words the exporter adds itself, in the publication's language."""

    contents: str
    summary: str
    edition: str
    landmarks: str


_LABELS = {
    "en": _Labels("Contents", "Executive summary", "Edition", "Landmarks"),
    "uk": _Labels("Зміст", "Короткий виклад", "Видання", "Орієнтири"),
    "el": _Labels("Περιεχόμενα", "Σύνοψη", "Έκδοση", "Ορόσημα"),
}


def _primary(language: str) -> str:
    return language.split("-")[0].lower()


def _labels(language: str) -> _Labels:
    return _LABELS.get(_primary(language), _LABELS["en"])


# Languages written right to left: documents and page progression follow them.
_RTL = frozenset({"ar", "arc", "ckb", "dv", "fa", "he", "ks", "ps", "sd", "syr", "ug", "ur", "yi"})


def _is_rtl(language: str) -> bool:
    return _primary(language) in _RTL


def book_identifier(publication_id: str) -> str:
    """The dc:identifier: the same publication keeps it across runs and editions."""
    return f"urn:uuid:{uuid.uuid5(_ID_NAMESPACE, publication_id)}"


# Passages share a content document up to this much text (UTF-8 bytes; a longer passage
# has a document to itself). One document per passage cost EPUBCheck 2.5 ms each, 2.5 s
# for a 1,000-passage book, and bloats the zip; far larger documents turn pages slowly
# on e-ink readers, and old ones refuse documents over 300 KB.
DOCUMENT_TEXT_BYTES = 48 * 1024


def _passage_id(index: int) -> str:
    return f"passage-{index + 1:04d}"


def _document_name(number: int) -> str:
    return f"passages-{number:03d}"


def documents(publication: Publication) -> list[list[int]]:
    """The passages (their indexes) of each content document, in reading order."""
    groups: list[list[int]] = []
    size = 0
    for index, passage in enumerate(publication.passages):
        length = len(plain_text(passage, publication.language).encode("utf-8"))
        if not groups or size + length > DOCUMENT_TEXT_BYTES:
            groups.append([])
            size = 0
        groups[-1].append(index)
        size += length
    return groups


def passage_hrefs(groups: list[list[int]]) -> list[str]:
    """Where each passage starts, given ``documents``: its content document and section id."""
    return [f"{_document_name(n)}.xhtml#{_passage_id(i)}" for n, group in enumerate(groups, 1) for i in group]


# ---- XHTML documents ----------------------------------------------------------------


def _sub(parent: etree._Element, tag: str, attrib: dict[str, str] | None = None) -> etree._Element:
    return etree.SubElement(parent, f"{{{XHTML}}}{tag}", attrib)


def _document(language: str, title: str) -> tuple[etree._Element, etree._Element]:
    """An empty XHTML content document: the root and its body."""
    html = etree.Element(f"{{{XHTML}}}html", nsmap={None: XHTML, "epub": OPS})
    html.set("lang", language)
    html.set(XML_LANG, language)
    if _is_rtl(language):
        html.set("dir", "rtl")
    head = _sub(html, "head")
    _sub(head, "title").text = title
    _sub(head, "link", {"rel": "stylesheet", "type": "text/css", "href": STYLESHEET})
    return html, _sub(html, "body")


def _mark(body: etree._Element, classification: str) -> None:
    """The classification at the top and the bottom of a content document, as on a printed page."""
    if classification:
        _sub(body, "p", {"class": "classification"}).text = classification
        body.insert(0, copy.deepcopy(body[-1]))


def _serialise(html: etree._Element) -> bytes:
    return etree.tostring(html, xml_declaration=True, encoding="utf-8", doctype="<!DOCTYPE html>")


def _append_text(parent: etree._Element, text: str) -> None:
    """Add text after whatever ``parent`` holds so far (lxml keeps mixed content in tails)."""
    if len(parent):
        last = parent[-1]
        last.tail = (last.tail or "") + text
    else:
        parent.text = (parent.text or "") + text


# where a line may break after a '/', as in a URL: a reading system breaks a line there only when
# told, and a URL in a table cell would otherwise widen its column past the screen
_AFTER_SLASH = re.compile(r"(?<=/)(?=[^/\s])")


def _append_breakable(parent: etree._Element, text: str) -> None:
    """``text``, with a <wbr> (no text of its own) after each '/' that a word goes on from."""
    first, *rest = _AFTER_SLASH.split(text)
    _append_text(parent, first)
    for piece in rest:
        _sub(parent, "wbr").tail = piece


def _inlines(parent: etree._Element, children: tuple[Inline, ...], in_link: bool = False) -> None:
    for node in children:
        match node:
            case Text(text):
                _append_breakable(parent, text)
            case Code(text):
                _sub(parent, "code").text = text
            case Emph(kids):
                _inlines(_sub(parent, "em"), kids, in_link)
            case Strong(kids):
                _inlines(_sub(parent, "strong"), kids, in_link)
            case Link(_, kids) if in_link:  # HTML forbids a link inside a link: keep its text only
                _inlines(parent, kids, in_link)
            case Link(href, kids):
                _inlines(_sub(parent, "a", {"href": href}), kids, in_link=True)
            case NoteRef(number) if in_link:  # a note reference is a link of its own: the number only
                _append_text(parent, str(number))
            case NoteRef(number):
                attrs = {"href": f"#{_note_id(number)}", EPUB_TYPE: "noteref", "role": "doc-noteref"}
                _sub(_sub(parent, "sup"), "a", {"id": _ref_id(number), **attrs}).text = str(number)


def _subheading_id(index: int, number: int) -> str:
    return f"{_passage_id(index)}-{number}"


def _subheadings(passage: Passage) -> list[str]:
    """The text of each sub-heading the table of contents lists under the passage: its ``##``
    headings (those the outline puts at level 2) outside lists and quotes."""
    return [inline_text(b.children) for b in outline(passage.blocks) if isinstance(b, Heading) and b.level == 2]


def _note_id(number: int) -> str:
    return f"note-{number}"


def _ref_id(number: int) -> str:
    return f"noteref-{number}"


def _figure_name(figure: Figure) -> str:
    with figure.path.open("rb") as file:
        _, ext = _image_type(file.read(4))
    return f"figures/figure-{figure.number}.{ext}"


def _table(parent: etree._Element, table: Table) -> None:
    element = _sub(parent, "table")
    if table.caption:
        _inlines(_sub(element, "caption"), table.caption)
    for group, tag, rows in (("thead", "th", (table.header,)), ("tbody", "td", table.rows)):
        if rows:
            body = _sub(element, group)
        for row in rows:
            tr = _sub(body, "tr")
            for cell, align in zip(row, table.aligns, strict=True):
                # an empty header cell (a corner above row labels) heads nothing: a data cell, as WCAG asks
                kind = tag if inline_text(cell).strip() else "td"
                attrs = {"scope": "col"} if kind == "th" else {}
                _inlines(_sub(tr, kind, {**attrs, **({"class": f"align-{align}"} if align else {})}), cell)


def _blocks(parent: etree._Element, blocks: tuple[Block, ...], language: str) -> None:
    for block in blocks:
        match block:
            case Paragraph(kids):
                _inlines(_sub(parent, "p"), kids)
            case Heading(level, kids):
                _inlines(_sub(parent, f"h{level}"), kids)
            case ListBlock(ordered, start, items):
                listing = _sub(parent, "ol" if ordered else "ul")
                if ordered and start != 1:
                    listing.set("start", str(start))
                for item in items:
                    _blocks(_sub(listing, "li"), item, language)
            case BlockQuote(kids):
                _blocks(_sub(parent, "blockquote"), kids, language)
            case Table():
                _table(parent, block)
            case Figure(alt=alt, caption=caption):
                figure = _sub(parent, "figure")
                _sub(figure, "img", {"src": _figure_name(block), "alt": alt})
                label = _sub(figure, "figcaption")
                label.text = figure_prefix(block, language)
                _inlines(label, caption)


def _notes(parent: etree._Element, notes: tuple[Footnote, ...]) -> None:
    """Each note as an aside after the passage, its number linking back to the first reference."""
    for note in notes:
        aside = _sub(parent, "aside", {"id": _note_id(note.number), EPUB_TYPE: "footnote", "role": "doc-footnote"})
        para = _sub(aside, "p")
        _sub(para, "a", {"href": f"#{_ref_id(note.number)}", "role": "doc-backlink"}).text = str(note.number)
        _append_text(para, " ")
        _inlines(para, note.children)


def _passages_page(publication: Publication, group: list[int]) -> bytes:
    first, last = publication.passages[group[0]], publication.passages[group[-1]]
    html, body = _document(publication.language, first.title if first is last else f"{first.title} – {last.title}")
    seen_refs: set[str | None] = set()
    for index in group:
        passage = publication.passages[index]
        section = _sub(
            body, "section", {EPUB_TYPE: "chapter", "role": "doc-chapter", "id": _passage_id(index), "class": "passage"}
        )
        _sub(section, "h1").text = passage.title
        _blocks(section, outline(passage.blocks), publication.language)
        for number, heading in enumerate(section.iterchildren(f"{{{XHTML}}}h2"), 1):  # targets of the contents
            heading.set("id", _subheading_id(index, number))
        _notes(section, passage.notes)
        for ref in section.iterfind(f".//{{{XHTML}}}a[@role='doc-noteref']"):  # later references: no second id
            if ref.get("id") in seen_refs:
                del ref.attrib["id"]
            seen_refs.add(ref.get("id"))
    _mark(body, publication.classification)
    return _serialise(html)


def _title_page(publication: Publication, logo: str | None) -> bytes:
    html, body = _document(publication.language, publication.title)
    section = _sub(body, "section", {EPUB_TYPE: "titlepage", "class": "titlepage"})
    if logo is not None:
        # Decorative: the organisation is named in text below it.
        _sub(_sub(section, "div", {"class": "logo"}), "img", {"src": logo, "alt": ""})
    _sub(section, "h1").text = publication.title
    if publication.subtitle:
        _sub(section, "p", {"class": "subtitle"}).text = publication.subtitle
    for line in publication.byline:
        _sub(section, "p", {"class": "byline"}).text = line
    edition = _sub(section, "p", {"class": "edition"})
    edition.text = f"{_labels(publication.language).edition} "
    _sub(edition, "time", {"datetime": publication.edition.isoformat()}).text = publication.edition_date
    _mark(body, publication.classification)
    return _serialise(html)


def _summary_page(publication: Publication, hrefs: list[str]) -> bytes:
    label = _labels(publication.language).summary
    html, body = _document(publication.language, label)
    section = _sub(body, "section", {"class": "summary"})
    _sub(section, "h1").text = label
    for passage, href in zip(publication.passages, hrefs, strict=True):
        if passage.summary:
            _sub(_sub(section, "h2"), "a", {"href": href}).text = passage.title
            _sub(section, "p").text = passage.summary
    _mark(body, publication.classification)
    return _serialise(html)


def _css(theme: Theme) -> bytes:
    font = '"' + theme.font.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return _CSS.substitute(primary=theme.primary_color, accent=theme.accent_color, font=font).encode("utf-8")


# ---- the package ----------------------------------------------------------------------

_IMAGE_TYPES = {b"\x89PNG": ("image/png", "png"), b"\xff\xd8\xff": ("image/jpeg", "jpg")}


def _image_type(data: bytes) -> tuple[str, str]:
    """Media type and file name extension of a PNG or JPEG; ("", "") for anything else."""
    return next((kind for magic, kind in _IMAGE_TYPES.items() if data.startswith(magic)), ("", ""))


def _logo_item(theme: Theme) -> epub.EpubImage | None:
    """The theme's logo as a package item; None without one (or if it is no PNG/JPEG)."""
    if theme.logo is None:
        return None
    data = theme.logo.read_bytes()
    media_type, ext = _image_type(data)
    if not ext:
        return None
    item = epub.EpubImage(uid="logo", file_name=f"logo.{ext}", media_type=media_type, content=data)
    item.properties = ["cover-image"]  # reading systems show it as the book's cover in their library
    return item


def _figure_items(publication: Publication) -> list[epub.EpubImage]:
    """Every figure's image as a package item (the loader let only PNG and JPEG through)."""
    items = []
    for figure in (f for passage in publication.passages for f in figures(passage.blocks)):
        data = figure.path.read_bytes()
        media_type, _ = _image_type(data)
        items.append(epub.EpubImage(uid=f"figure-{figure.number}", file_name=_figure_name(figure),
                                    media_type=media_type, content=data))  # fmt: skip
    return items


_ACCESSIBILITY_SUMMARY = (
    "Reflowable text with a table of contents that links to every passage; short passages share "
    "a content document, each opening with its own heading, and headings mark their structure; "
    "the reader's own font, size and colours apply."
)


def _meta(book: epub.EpubBook, prop: str, value: str, **others: str) -> None:
    book.add_metadata(None, "meta", value, {"property": prop, **others})


def _metadata(book: epub.EpubBook, publication: Publication, has_logo: bool, has_figures: bool) -> None:
    book.set_identifier(book_identifier(publication.id))
    book.title = publication.title  # ebooklib's NCX and nav read it
    book.add_metadata("DC", "title", publication.title, {"id": "title"})
    _meta(book, "title-type", "main", refines="#title")
    if publication.subtitle:
        book.add_metadata("DC", "title", publication.subtitle, {"id": "subtitle"})
        _meta(book, "title-type", "subtitle", refines="#subtitle")
    book.set_language(publication.language)
    if _is_rtl(publication.language):
        book.set_direction("rtl")  # written as the spine's page-progression-direction
    for n, creator in enumerate(publication.authors or (publication.organisation,)):
        if creator:
            book.add_metadata("DC", "creator", creator, {"id": f"creator-{n + 1}"})
    if publication.organisation:
        book.add_metadata("DC", "publisher", publication.organisation)
    book.add_metadata("DC", "date", publication.edition.isoformat())
    if publication.description:
        book.add_metadata("DC", "description", publication.description)
    for keyword in publication.keywords:
        book.add_metadata("DC", "subject", keyword)
    # EPUB Accessibility 1.1 discovery metadata (schema.org).
    _meta(book, "schema:accessMode", "textual")
    if has_logo or has_figures:
        _meta(book, "schema:accessMode", "visual")
    _meta(book, "schema:accessModeSufficient", "textual")
    features = ["structuralNavigation", "tableOfContents", "readingOrder", "displayTransformability"]
    for feature in features + (["alternativeText"] if has_figures else []):
        _meta(book, "schema:accessibilityFeature", feature)
    _meta(book, "schema:accessibilityHazard", "none")
    if has_figures:
        images = "Every figure has a caption, and a text alternative unless it only decorates."
    else:
        images = "The only image is a decorative logo." if has_logo else "There are no images."
    _meta(book, "schema:accessibilitySummary", f"{_ACCESSIBILITY_SUMMARY} {images}")


def _book(publication: Publication) -> epub.EpubBook:
    book = epub.EpubBook()
    # ebooklib's NCX template has no language; the loader allows only [A-Za-z0-9-] in it.
    ncx_lang = b'version="2005-1" xml:lang="%s"' % publication.language.encode("ascii")
    book.set_template("ncx", epub.NCX_XML.replace(b'version="2005-1"', ncx_lang))
    logo = _logo_item(publication.theme)
    figure_items = _figure_items(publication)
    _metadata(book, publication, has_logo=logo is not None, has_figures=bool(figure_items))
    labels = _labels(publication.language)

    style = epub.EpubItem(uid="style", file_name=STYLESHEET, media_type="text/css", content=_css(publication.theme))
    book.add_item(style)
    for item in [logo, *figure_items] if logo is not None else figure_items:
        book.add_item(item)
    if logo is not None:  # EPUB 2 reading systems find the cover image by this
        book.add_metadata(None, "meta", "", {"name": "cover", "content": logo.id})
    title_page = _xhtml_item(book, "titlepage", _title_page(publication, logo.file_name if logo else None))
    nav = book.add_item(epub.EpubNav(uid="nav", title=labels.contents, direction=book.direction))
    nav.add_item(style)
    book.add_item(epub.EpubNcx())
    book.spine = [title_page, nav]
    groups = documents(publication)
    hrefs = passage_hrefs(groups)

    if any(p.summary for p in publication.passages):
        summary = _xhtml_item(book, "summary", _summary_page(publication, hrefs))
        book.spine.append(summary)
        book.toc.append(epub.Link(summary.file_name, labels.summary, summary.id))
    for number, group in enumerate(groups, 1):
        book.spine.append(_xhtml_item(book, _document_name(number), _passages_page(publication, group)))
    for index, (passage, href) in enumerate(zip(publication.passages, hrefs, strict=True)):
        link = epub.Link(href, passage.title, _passage_id(index))
        document = href.split("#")[0]
        children = [
            epub.Link(f"{document}#{_subheading_id(index, n)}", title, _subheading_id(index, n))
            for n, title in enumerate(_subheadings(passage), 1)
        ]
        book.toc.append((link, children) if children else link)
    # the landmarks navigation, and the EPUB 2 guide that ebooklib writes from the same list
    book.guide = [
        {"href": nav.file_name, "title": labels.contents, "type": "toc"},
        {"href": hrefs[0].split("#")[0], "title": publication.passages[0].title, "type": "text"},
    ]
    return book


def _xhtml_item(book: epub.EpubBook, uid: str, content: bytes) -> epub.EpubItem:
    """A finished content document; plain EpubItem, as EpubHtml would re-parse it as HTML."""
    item = epub.EpubItem(uid=uid, file_name=f"{uid}.xhtml", media_type="application/xhtml+xml", content=content)
    return book.add_item(item)


class _Writer(epub.EpubWriter):
    """ebooklib's writer, plus the language on the package element as EPUB accessibility asks,
    and the landmarks hidden from the page."""

    def _write_opf_file(self, root: etree._Element) -> None:
        root.set(XML_LANG, self.book.language)
        super()._write_opf_file(root)

    def _get_nav(self, item: epub.EpubNav) -> bytes:
        # the navigation document is in the spine: the landmarks are for the reading system, not the page
        root = etree.fromstring(super()._get_nav(item))
        for landmarks in root.iterfind(f".//{{{XHTML}}}nav[@{{{OPS}}}type='landmarks']"):
            landmarks.set("hidden", "")
        return etree.tostring(root.getroottree(), pretty_print=True, encoding="utf-8", xml_declaration=True)


def export(publication: Publication, dest_dir: Path) -> Path:
    dest = dest_dir / describe("epub").filename(publication)
    book = _book(publication)
    modified = dt.datetime.combine(publication.edition, dt.time(), tzinfo=dt.UTC)
    # No page list (there are no page breaks); ebooklib's own deflate is redone by repack_zip.
    # The writer is driven directly, not through write_epub, so no OSError is swallowed.
    landmarks = _labels(publication.language).landmarks
    options = {"mtime": modified, "epub3_pages": False, "compresslevel": 1, "landmark_title": landmarks}
    with atomic_path(dest) as out, tempfile.TemporaryDirectory(dir=dest.parent) as scratch:
        raw = Path(scratch) / "ebooklib.epub"
        writer = _Writer(str(raw), book, options)
        writer.process()
        writer.write()
        repack_zip(raw, out, stored=("mimetype",))
    return dest


# ---- reading back -----------------------------------------------------------------------


_BLOCK_TAGS = frozenset(
    f"{{{XHTML}}}{tag}"
    for tag in ("p", "h2", "h3", "ul", "ol", "li", "blockquote", "table", "caption", "tr", "th", "td", "figure",
                "figcaption", "aside")
)  # fmt: skip


def _text(element: etree._Element) -> str:
    """All text of ``element``, with a line break around each block inside it, as laid out,
    and an image's text alternative where the image is."""
    parts = [element.text or ""]
    for child in element:
        text = f"\n{child.get('alt', '')}\n" if child.tag == _IMG else _text(child)
        parts.append(f"\n{text}\n" if child.tag in _BLOCK_TAGS else text)
        parts.append(child.tail or "")
    return "".join(parts)


def read_back(path: Path) -> ReadBack:
    """Per passage section in spine order: the h1 text and the text of everything after it."""
    book = epub.read_epub(str(path), {"ignore_ncx": True})
    items = {item.get_id(): item for item in book.get_items()}
    passages: ReadBack = []
    for idref, _linear in book.spine:
        root = etree.fromstring(items[idref].content)
        for section in root.iter(_SECTION):
            if "chapter" not in section.get(EPUB_TYPE, "").split():
                continue
            blocks = list(section)
            if not blocks or blocks[0].tag != _H1:
                raise ValueError(f"{items[idref].get_name()}: a passage must open with its h1 title")
            heading = blocks[0]
            body = (heading.tail or "") + "".join(f"\n{_text(b)}\n{b.tail or ''}" for b in blocks[1:])
            passages.append((_text(heading), body.strip("\n")))
    return passages


check = epubcheck.check  # the EPUB's own validator, for the registry
