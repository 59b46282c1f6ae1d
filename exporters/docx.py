"""The Word briefing pack: cover, contents, executive summary and one section per passage.

Built with python-docx on named styles (or a reference document's styles, like pandoc's
--reference-doc), with a live table of contents and "Page X of Y" fields that Word
refreshes on opening. The same publication always gives the same bytes.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from pathlib import Path

import docx
from docx.document import Document
from docx.image.image import Image
from docx.opc.constants import CONTENT_TYPE as CT
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.opc.packuri import PackURI
from docx.opc.part import Part
from docx.oxml.ns import nspfxmap, qn
from docx.oxml.parser import OxmlElement, parse_xml
from docx.oxml.xmlchemy import BaseOxmlElement
from docx.parts.numbering import NumberingPart
from docx.shared import Cm, Emu, Length, Twips
from docx.text.paragraph import Paragraph as DocxParagraph
from lxml import etree

from briefkit.model import Figure, Publication
from exporters import docx_a11y, docx_notes
from exporters.docx_body import (
    FIELD_END,
    BodyWriter,
    Frame,
    Look,
    Numbering,
    Props,
    bookmark,
    field_start,
    internal_link,
    paragraph,
    parse_fragment,
    run,
)
from exporters.docx_styles import W_NS, StyleIds, prepare_styles
from exporters.packaging import atomic_path, repack_zip
from exporters.registry import ReadBack, describe

PAGE_SIZES: dict[str, tuple[Length, Length]] = {
    "A4": (Twips(11906), Twips(16838)),
    "Letter": (Twips(12240), Twips(15840)),
}
TOC_INSTRUCTION = r'TOC \o "1-1" \h \z \u'
APP_NS = "http://schemas.openxmlformats.org/officeDocument/2006/extended-properties"
STYLES_WITH_EFFECTS = "http://schemas.microsoft.com/office/2007/relationships/stylesWithEffects"
PASSAGE_BOOKMARK = "passage_{}"  # on each passage heading; read_back finds passages by it
SUMMARY_BOOKMARK = "summary"
SUMMARY_TITLE = "Executive summary"
LOGO_BOX = (Cm(6), Cm(2.5))  # the logo is scaled to fit, keeping its proportions
MARGIN = Cm(2.5)  # on every side; tables are laid out for the width between
FIGURE_BOX = (Cm(16), Cm(12))  # figures are scaled down to fit, keeping their proportions
FIGURE_DPI = 150  # a figure smaller than the box is shown at this resolution, not blown up
FIGURE_DRAWING_IDS = 1000  # drawing ids of figures start here, clear of the logo's
# Word's mark of an image that only decorates, in a drawing's wp:docPr
DECORATIVE = (
    '<a:extLst xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main">'
    '<a:ext uri="{C183D7F6-B498-43B3-948B-1728B52AA6E4}">'
    '<adec:decorative xmlns:adec="http://schemas.microsoft.com/office/drawing/2017/decorative" val="1"/>'
    "</a:ext></a:extLst>"
)
CORE_PROPERTY_LIMIT = 255
# settings.xml children that must follow w:updateFields (the schema fixes their order)
_AFTER_UPDATE_FIELDS = (
    "w:hdrShapeDefaults", "w:footnotePr", "w:endnotePr", "w:compat", "w:docVars", "w:rsids", "m:mathPr",
    "w:attachedSchema", "w:themeFontLang", "w:clrSchemeMapping", "w:doNotIncludeSubdocsInStats",
    "w:doNotAutoCompressPictures", "w:forceUpgrade", "w:captions", "w:readModeInkLockDown", "w:smartTagType",
    "sl:schemaLibrary", "w:shapeDefaults", "w:doNotEmbedSmartTags", "w:decimalSymbol", "w:listSeparator",
)  # fmt: skip


def export(publication: Publication, dest_dir: Path) -> Path:
    theme = publication.theme
    restyle = theme.reference_docx is None
    document = docx.Document(str(theme.reference_docx) if theme.reference_docx else None)
    body = document.element.body
    for child in body.xpath("*[not(self::w:sectPr)]"):  # a reference document gives its styles, not its text
        body.remove(child)
    styles = prepare_styles(document, theme, publication.language, restyle)
    numbering = Numbering(_numbering_root(document))
    page_width = PAGE_SIZES[theme.page_size][0]
    frame = Frame((page_width - 2 * MARGIN) // 635, theme.primary_color.lstrip("#"), _pictures(document))  # EMU/twip
    writer = BodyWriter(styles, numbering, _link_ids(document), frame, publication.language)
    logo = _logo(document, theme.logo, publication.organisation or publication.title) if theme.logo else ""
    writer.parts += _cover(publication, styles, logo)
    writer.parts += _contents(publication, styles)
    writer.parts += _summary(publication, styles)
    for n, passage in enumerate(publication.passages, 1):
        heading = bookmark(n, PASSAGE_BOOKMARK.format(n), run(passage.title))
        writer.parts.append(paragraph(Props(styles.headings[0], page_break=n == 1), heading))
        writer.passage(passage.blocks, passage.notes)
    sect_pr = body.get_or_add_sectPr()
    for element in parse_fragment("".join(writer.parts)):
        sect_pr.addprevious(element)
    numbering.install()
    docx_notes.install(document, writer.footnotes)
    _page_setup(document, publication, styles, restyle)
    _set_properties(document, publication)
    _set_app_properties(document, publication)
    _settle_package(document)
    _set_language(document, publication.language)

    path = dest_dir / describe("docx").filename(publication)
    with atomic_path(path) as tmp:
        raw = tmp.with_name(tmp.name + ".raw")
        try:
            document.save(str(raw))
            repack_zip(raw, tmp)  # python-docx stamps zip entries with the wall clock
        finally:
            raw.unlink(missing_ok=True)
    return path


def _cover(publication: Publication, styles: StyleIds, logo: str) -> list[str]:
    marking = (
        [paragraph(Props(styles.classification), run(publication.classification))] if publication.classification else []
    )
    picture = [paragraph(Props(), logo)] if logo else []
    lines = [
        (styles.title, publication.title),
        (styles.subtitle, publication.subtitle),
        *((styles.author, line) for line in publication.byline),
        (styles.date, publication.edition_date),
    ]
    return marking + picture + [paragraph(Props(style), run(text)) for style, text in lines if text]


def _summary(publication: Publication, styles: StyleIds) -> list[str]:
    """Each summary under its passage's title, which links to the passage."""
    if not any(p.summary for p in publication.passages):
        return []
    out = [paragraph(Props(styles.headings[0], page_break=True), bookmark(0, SUMMARY_BOOKMARK, run(SUMMARY_TITLE)))]
    for n, passage in enumerate(publication.passages, 1):
        if passage.summary:
            title = internal_link(PASSAGE_BOOKMARK.format(n), run(passage.title))
            out += [
                paragraph(Props(styles.headings[1], keep_next=True), title),
                paragraph(Props(), run(passage.summary)),
            ]
    return out


def _contents(publication: Publication, styles: StyleIds) -> list[str]:
    """The TOC field with its entries already written out, so it reads well before Word refreshes it."""
    targets = [(SUMMARY_BOOKMARK, SUMMARY_TITLE)] if any(p.summary for p in publication.passages) else []
    targets += [(PASSAGE_BOOKMARK.format(n), p.title) for n, p in enumerate(publication.passages, 1)]
    entries = [internal_link(anchor, run(title)) for anchor, title in targets]
    entries[0] = field_start(TOC_INSTRUCTION) + entries[0]
    entries[-1] += FIELD_END
    return [paragraph(Props(styles.toc_heading, page_break=True), run("Contents"))] + [
        paragraph(Props(styles.toc), entry) for entry in entries
    ]


def _logo(document: Document, path: Path, alt: str) -> str:
    """A run holding the logo picture, described by ``alt`` (the organisation's name) for screen readers."""
    width, height = LOGO_BOX
    image = Image.from_file(str(path))
    cx, cy = image.scaled_dimensions(width, None)
    if cy > height:
        cx, cy = image.scaled_dimensions(None, height)
    inline = document.part.new_pic_inline(str(path), cx, cy)
    inline.docPr.set("descr", alt)
    return f"<w:r><w:drawing>{etree.tostring(inline, encoding='unicode')}</w:drawing></w:r>"


def _pictures(document: Document) -> Callable[[Figure], str]:
    def picture(figure: Figure) -> str:
        """A run holding the figure's image, with its alt text as the drawing's description."""
        width, height = FIGURE_BOX
        cx = min(width, Emu(figure.width * 914400 // FIGURE_DPI))
        cy = cx * figure.height // figure.width
        if cy > height:
            cx, cy = height * figure.width // figure.height, height
        inline = document.part.new_pic_inline(str(figure.path), Emu(cx), Emu(cy))
        doc_pr = inline.docPr
        doc_pr.set("id", str(FIGURE_DRAWING_IDS + figure.number))  # python-docx counts only ids already in the body
        doc_pr.set("name", f"Figure {figure.number}")
        doc_pr.set("descr", figure.alt)
        if not figure.alt:  # so no checker asks for its text
            doc_pr.append(parse_xml(DECORATIVE))
        return f"<w:r><w:drawing>{etree.tostring(inline, encoding='unicode')}</w:drawing></w:r>"

    return picture


def _link_ids(document: Document) -> Callable[[str], str]:
    cache: dict[str, str] = {}

    def link_id(href: str) -> str:
        # python-docx scans every relationship per call; a long document links thousands of times
        if href not in cache:
            cache[href] = document.part.relate_to(href, RT.HYPERLINK, is_external=True)
        return cache[href]

    return link_id


def _numbering_root(document: Document) -> BaseOxmlElement:
    """The w:numbering element, in a numbering part made for the purpose if there is none."""
    try:
        return document.part.numbering_part.element
    except NotImplementedError:  # python-docx cannot make the part a reference document may lack
        element = parse_xml(f'<w:numbering xmlns:w="{W_NS}"/>')
        part = NumberingPart(PackURI("/word/numbering.xml"), CT.WML_NUMBERING, element, document.part.package)
        document.part.relate_to(part, RT.NUMBERING)
        return part.element


def _page_setup(document: Document, publication: Publication, styles: StyleIds, restyle: bool) -> None:
    """Page size and margins, running header and "Page X of Y" footer, each led by the classification;
    the cover has its classification at the top in the text, and at the bottom alone."""
    section = document.sections[-1]
    section.page_width, section.page_height = PAGE_SIZES[publication.theme.page_size]
    if restyle:
        section.top_margin = section.bottom_margin = MARGIN
        section.left_margin = section.right_margin = MARGIN
        section.header_distance = section.footer_distance = Cm(1.25)
    section.different_first_page_header_footer = True
    document.settings.odd_and_even_pages_header_footer = False  # one running header, whatever a reference had
    marking = run(publication.classification, Look(bold=True, color=publication.theme.accent_color.lstrip("#")))
    lead = marking + run("    ") if publication.classification else ""
    page = run("Page ") + field_start("PAGE") + FIELD_END + run(" of ") + field_start("NUMPAGES") + FIELD_END
    for part, xml in (
        (section.header, paragraph(Props(styles.header), lead + run(publication.title))),
        (section.footer, paragraph(Props(styles.footer), lead + page)),
        (section.first_page_header, paragraph(Props(styles.header), "")),
        (section.first_page_footer, paragraph(Props(styles.footer), marking if publication.classification else "")),
    ):
        part.is_linked_to_previous = False
        element = part._element  # python-docx has no public way to replace a header's content
        del element[:]
        element.extend(parse_fragment(xml))


def _set_properties(document: Document, publication: Publication) -> None:
    """Core properties from the publication: nothing left from the template, no wall-clock date."""
    props = document.core_properties
    props.title = _fit(publication.title)
    props.subject = _fit(publication.subtitle or publication.description)
    props.author = _fit(publication.author)
    props.keywords = _fit(", ".join(publication.keywords))
    props.comments = _fit(publication.description)
    props.category = ""
    props.language = publication.language
    props.identifier = publication.id
    props.last_modified_by = "briefkit"
    props.revision = 1
    props.created = props.modified = dt.datetime.combine(publication.edition, dt.time(), tzinfo=dt.UTC)


def _set_app_properties(document: Document, publication: Publication) -> None:
    """docProps/app.xml names briefkit, not the template's Word; page and word counts, which only
    Word's layout knows, are left out rather than left at the template's."""
    root = etree.Element(f"{{{APP_NS}}}Properties", nsmap={None: APP_NS})
    for name, value in (("Application", "briefkit"), ("DocSecurity", "0"), ("Company", publication.organisation)):
        etree.SubElement(root, f"{{{APP_NS}}}{name}").text = value
    blob = etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)
    package = document.part.package
    for rel in package.rels.values():
        if rel.reltype == RT.EXTENDED_PROPERTIES and not rel.is_external:
            rel.target_part._blob = blob  # python-docx has no API for this part
            return
    package.relate_to(
        Part(PackURI("/docProps/app.xml"), CT.OFC_EXTENDED_PROPERTIES, blob, package), RT.EXTENDED_PROPERTIES
    )


def _settle_package(document: Document) -> None:
    """Template leftovers out; Word asked to refresh fields on opening, so the TOC gets page numbers."""
    # python-docx's template brings a thumbnail of an empty page and Word 2010's stale style copy
    for rels, reltype in ((document.part.package.rels, RT.THUMBNAIL), (document.part.rels, STYLES_WITH_EFFECTS)):
        for rid in [rid for rid, rel in rels.items() if rel.reltype == reltype]:
            del rels[rid]
    settings = document.settings.element
    for old in settings.findall(qn("w:updateFields")):
        settings.remove(old)
    settings.insert_element_before(OxmlElement("w:updateFields", {qn("w:val"): "true"}), *_AFTER_UPDATE_FIELDS)


def _set_language(document: Document, language: str) -> None:
    """The language Word's theme fonts and proofing follow (the styles' defaults carry it too)."""
    settings = document.settings.element
    for old in settings.findall(qn("w:themeFontLang")):
        settings.remove(old)
    following = _AFTER_UPDATE_FIELDS[_AFTER_UPDATE_FIELDS.index("w:themeFontLang") + 1 :]
    settings.insert_element_before(OxmlElement("w:themeFontLang", {qn("w:val"): language}), *following)


def _fit(text: str) -> str:
    """Word (and python-docx) hold at most 255 characters in a core property."""
    return text if len(text) <= CORE_PROPERTY_LIMIT else text[: CORE_PROPERTY_LIMIT - 1] + "…"


_PASSAGE_NAME = re.compile(PASSAGE_BOOKMARK.format(r"\d+"))
# python-docx's run text (CT_R.text) with its XPath compiled once: CT_R.text compiles it at every run
_RUN_TEXT = etree.XPath("w:br | w:cr | w:noBreakHyphen | w:ptab | w:t | w:tab", namespaces=nspfxmap("w"))
_PARAGRAPHS = etree.XPath(".//w:p", namespaces=nspfxmap("w"))
_IMAGE_DESCRIPTIONS = etree.XPath(".//wp:docPr/@descr", namespaces=nspfxmap("wp"))
_R, _P, _ID, _NAME, _BOOKMARK, _NOTE_REF, _NOTE_MARK, _DRAWING, _NOTE = map(qn, (
    "w:r", "w:p", "w:id", "w:name", "w:bookmarkStart", "w:footnoteReference", "w:footnoteRef", "w:drawing", "w:footnote",
))  # fmt: skip


def read_back(path: Path) -> ReadBack:
    """Passages as Word sees them: each Heading 1 carrying a passage bookmark, and every
    paragraph and table cell up to the next one, then the footnotes it references; the
    cover, contents and summary come before the first."""
    document = docx.Document(str(path))
    # by name, in any case: Word writes "heading 1", LibreOffice "Heading 1"
    heading_1 = next(s.style_id for s in document.styles if (s.name or "").lower() == "heading 1")
    notes = docx_notes.footnotes(document)
    passages: list[tuple[str, list[str], list[int]]] = []  # title, texts, notes referenced
    for item in document.iter_inner_content():
        if isinstance(item, DocxParagraph) and _is_passage_heading(item, heading_1):
            passages.append((item.text, [], []))
        elif passages:
            _, texts, refs = passages[-1]
            paragraphs = [item._p] if isinstance(item, DocxParagraph) else _PARAGRAPHS(item._tbl)
            texts += [_text(p, refs) for p in paragraphs]
    return [
        (
            title,
            "\n".join(texts + [_text(p, []) for n in dict.fromkeys(refs) for p in notes[n].iterchildren(_P)]),
        )
        for title, texts, refs in passages
    ]


def _text(p: BaseOxmlElement, refs: list[int]) -> str:
    """A paragraph's text as Word shows it: a footnote's number where it is referenced (noted in
    ``refs``) and at the head of the note, an image's description where the image is."""
    parts: list[str] = []
    for r in p.iter(_R):
        if (ref := r.find(_NOTE_REF)) is not None:
            refs.append(int(ref.get(_ID)))
            parts.append(ref.get(_ID))
        elif r.find(_NOTE_MARK) is not None:
            parts.append(next(p.iterancestors(_NOTE)).get(_ID))
        elif r.find(_DRAWING) is not None:
            parts += _IMAGE_DESCRIPTIONS(r)
        else:
            parts += map(str, _RUN_TEXT(r))
    return "".join(parts)


def _is_passage_heading(par: DocxParagraph, heading_1: str) -> bool:
    names = (b.get(_NAME, "") for b in par._p.iterchildren(_BOOKMARK))
    return any(_PASSAGE_NAME.fullmatch(name) for name in names) and par._p.style == heading_1  # the style's id


def check(path: Path) -> list[str]:
    """What Word would show broken: no live TOC or page fields, dead links, clashing bookmarks."""
    document = docx.Document(str(path))
    root = document.element
    problems: list[str] = []
    if TOC_INSTRUCTION not in " ".join(root.xpath("//w:instrText/text()")):
        problems.append("no table of contents field")
    if not document.settings.element.xpath("w:updateFields[@w:val='true' or @w:val='1']"):
        problems.append("settings do not ask Word to update fields")
    footer = " ".join(document.sections[-1].footer._element.xpath(".//w:instrText/text()")).split()
    if "PAGE" not in footer or "NUMPAGES" not in footer:
        problems.append("footer lacks PAGE and NUMPAGES fields")
    names = root.xpath("//w:bookmarkStart/@w:name")
    ids = root.xpath("//w:bookmarkStart/@w:id")
    if len(set(names)) != len(names) or len(set(ids)) != len(ids):
        problems.append("bookmark names or ids repeat")
    problems += [f"link to missing bookmark '{a}'" for a in root.xpath("//w:hyperlink/@w:anchor") if a not in names]
    notes = docx_notes.footnotes(document)
    problems += [f"footnote reference {n} has no footnote" for n in map(int, root.xpath("//w:footnoteReference/@w:id"))
                 if n not in notes]  # fmt: skip
    rels = document.part.rels
    for rid in root.xpath("//w:hyperlink/@r:id"):
        if rid not in rels or not rels[rid].is_external:
            problems.append(f"hyperlink {rid} has no external target")
    return problems + docx_a11y.problems(document)
