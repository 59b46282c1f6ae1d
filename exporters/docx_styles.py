"""The named styles of the Word briefing pack, and the theme's look on them.

Everything in the document refers to a named style (Title, Heading 1, List Bullet,
Hyperlink, ...), so an organisation can restyle the pack in Word or with a reference
document. Without a reference document our own definitions replace python-docx's default
ones, coloured and set in the theme's font; with one, its styles win and ours only fill
the gaps.
"""

from __future__ import annotations

from dataclasses import dataclass

from docx.document import Document
from docx.oxml.ns import qn
from docx.oxml.parser import OxmlElement, parse_xml
from docx.oxml.xmlchemy import BaseOxmlElement

from briefkit.model import Theme

W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
CODE_FONT = "Consolas"  # Windows and macOS Office have it; fontconfig maps it to a monospace face


@dataclass(frozen=True)
class StyleIds:
    """The style id of each role, as the styles part spells it (a reference may localise them)."""

    title: str
    subtitle: str
    author: str
    date: str
    classification: str
    headings: tuple[str, str, str]  # Heading 1, 2, 3
    toc_heading: str
    toc: str
    list_bullet: str
    list_number: str
    list_continue: str
    quote: str
    hyperlink: str
    code: str
    header: str
    footer: str
    caption: str
    table_text: str
    footnote_text: str
    footnote_reference: str


def _style(
    kind: str,
    sid: str,
    name: str,
    ppr: str = "",
    rpr: str = "",
    based: str = "Normal",
    extra: str = "",
    default: bool = False,
) -> str:
    is_default = ' w:default="1"' if default else ""
    based_on = f'<w:basedOn w:val="{based}"/>' if based else ""
    ppr = f"<w:pPr>{ppr}</w:pPr>" if ppr else ""
    rpr = f"<w:rPr>{rpr}</w:rPr>" if rpr else ""
    return (
        f'<w:style xmlns:w="{W_NS}" w:type="{kind}"{is_default} w:styleId="{sid}">'
        f'<w:name w:val="{name}"/>{based_on}{extra}<w:qFormat/>{ppr}{rpr}</w:style>'
    )


def _heading(level: int, color: str, size: int, before: int) -> str:
    return _style(
        "paragraph", f"Heading{level}", f"heading {level}",
        f'<w:keepNext/><w:keepLines/><w:spacing w:before="{before}" w:after="120"/><w:outlineLvl w:val="{level - 1}"/>',
        f'<w:b/><w:bCs/><w:color w:val="{color}"/><w:sz w:val="{size}"/><w:szCs w:val="{size}"/>',
        extra='<w:next w:val="Normal"/>',
    )  # fmt: skip


def _definitions(theme: Theme) -> dict[str, str]:
    """Our house style for every style the pack uses, keyed by style name (lower case)."""
    primary, accent = theme.primary_color.lstrip("#"), theme.accent_color.lstrip("#")
    grey = '<w:color w:val="595959"/>'
    running, small = '<w:spacing w:after="0"/><w:jc w:val="center"/>', f'{grey}<w:sz w:val="18"/><w:szCs w:val="18"/>'
    return {
        "normal": _style(
            "paragraph", "Normal", "Normal", '<w:spacing w:after="160" w:line="276" w:lineRule="auto"/>',
            '<w:sz w:val="22"/><w:szCs w:val="22"/>', based="", default=True,
        ),
        "title": _style(
            "paragraph", "Title", "Title",
            f'<w:pBdr><w:bottom w:val="single" w:sz="12" w:space="8" w:color="{primary}"/></w:pBdr>'
            '<w:spacing w:before="2400" w:after="240" w:line="240" w:lineRule="auto"/>',
            f'<w:b/><w:bCs/><w:color w:val="{primary}"/><w:kern w:val="28"/><w:sz w:val="56"/><w:szCs w:val="56"/>',
        ),
        "subtitle": _style(
            "paragraph", "Subtitle", "Subtitle", '<w:spacing w:after="960"/>',
            f'<w:color w:val="{primary}"/><w:sz w:val="32"/><w:szCs w:val="32"/>',
        ),
        "author": _style("paragraph", "Author", "Author", '<w:spacing w:after="60"/>', '<w:sz w:val="26"/><w:szCs w:val="26"/>'),
        "date": _style("paragraph", "Date", "Date", '<w:spacing w:after="60"/>', f'{grey}<w:sz w:val="26"/><w:szCs w:val="26"/>'),
        "classification": _style(
            "paragraph", "Classification", "Classification", '<w:spacing w:after="240"/>',
            f'<w:b/><w:bCs/><w:caps/><w:color w:val="{accent}"/><w:spacing w:val="20"/>',
        ),
        "heading 1": _heading(1, primary, 36, 480),
        "heading 2": _heading(2, primary, 28, 360),
        "heading 3": _heading(3, primary, 24, 240),
        "toc heading": _style("paragraph", "TOCHeading", "TOC Heading", '<w:outlineLvl w:val="9"/>', based="Heading1"),
        "toc 1": _style("paragraph", "TOC1", "toc 1", '<w:spacing w:after="100"/>'),
        "list bullet": _style("paragraph", "ListBullet", "List Bullet", '<w:spacing w:after="80"/>'),
        "list number": _style("paragraph", "ListNumber", "List Number", '<w:spacing w:after="80"/>'),
        "list continue": _style("paragraph", "ListContinue", "List Continue", '<w:spacing w:after="80"/><w:ind w:left="720"/>'),
        "quote": _style(
            "paragraph", "Quote", "Quote",
            f'<w:pBdr><w:left w:val="single" w:sz="18" w:space="12" w:color="{primary}"/></w:pBdr><w:ind w:left="720" w:right="720"/>',
            '<w:i/><w:iCs/><w:color w:val="404040"/>',
        ),
        "hyperlink": _style("character", "Hyperlink", "Hyperlink", rpr=f'<w:color w:val="{primary}"/><w:u w:val="single"/>', based=""),
        "verbatim char": _style(
            "character", "VerbatimChar", "Verbatim Char",
            rpr=f'<w:rFonts w:ascii="{CODE_FONT}" w:hAnsi="{CODE_FONT}" w:cs="{CODE_FONT}"/><w:sz w:val="20"/><w:szCs w:val="20"/>'
            '<w:shd w:val="clear" w:color="auto" w:fill="F2F2F2"/>',
            based="",
        ),
        "caption": _style(
            "paragraph", "Caption", "caption", '<w:spacing w:before="60" w:after="200"/>',
            f'<w:i/><w:iCs/><w:color w:val="{primary}"/><w:sz w:val="18"/><w:szCs w:val="18"/>',
            extra='<w:next w:val="Normal"/>',
        ),
        "table text": _style("paragraph", "TableText", "Table Text", '<w:spacing w:before="40" w:after="40" w:line="240" w:lineRule="auto"/>',
                             '<w:sz w:val="20"/><w:szCs w:val="20"/>'),
        "footnote text": _style("paragraph", "FootnoteText", "footnote text", '<w:spacing w:after="0" w:line="240" w:lineRule="auto"/>',
                                '<w:sz w:val="18"/><w:szCs w:val="18"/>'),
        "footnote reference": _style("character", "FootnoteReference", "footnote reference", rpr='<w:vertAlign w:val="superscript"/>', based=""),
        "header": _style("paragraph", "Header", "header", running, small),
        "footer": _style("paragraph", "Footer", "footer", running, small),
    }  # fmt: skip


def prepare_styles(document: Document, theme: Theme, language: str, restyle: bool) -> StyleIds:
    """Make every style the pack uses available and return their ids.

    ``restyle`` (no reference document) replaces existing definitions with the themed ones
    and sets the theme font as the document default; otherwise existing styles are kept.
    """
    root = document.styles.element
    run_defaults = _run_defaults(root)
    _replace_child(run_defaults, OxmlElement("w:lang", {qn("w:val"): language}), "w:lang")
    if restyle:
        fonts = {qn(f"w:{slot}"): theme.font for slot in ("ascii", "hAnsi", "eastAsia", "cs")}
        _replace_child(run_defaults, OxmlElement("w:rFonts", fonts), "w:rFonts", first=True)
    by_name = {s.xpath("string(w:name/@w:val)").lower(): s for s in root.iterchildren(qn("w:style"))}
    for name, xml in _definitions(theme).items():
        if name in by_name and not restyle:
            continue
        if name in by_name:
            root.remove(by_name[name])
        by_name[name] = parse_xml(xml)
        root.append(by_name[name])

    def sid(name: str) -> str:
        return by_name[name].get(qn("w:styleId"))

    return StyleIds(
        title=sid("title"), subtitle=sid("subtitle"), author=sid("author"), date=sid("date"),
        classification=sid("classification"), headings=(sid("heading 1"), sid("heading 2"), sid("heading 3")),
        toc_heading=sid("toc heading"), toc=sid("toc 1"), list_bullet=sid("list bullet"),
        list_number=sid("list number"), list_continue=sid("list continue"), quote=sid("quote"),
        hyperlink=sid("hyperlink"), code=sid("verbatim char"), header=sid("header"), footer=sid("footer"),
        caption=sid("caption"), table_text=sid("table text"), footnote_text=sid("footnote text"),
        footnote_reference=sid("footnote reference"),
    )  # fmt: skip


def _run_defaults(root: BaseOxmlElement) -> BaseOxmlElement:
    """``w:docDefaults/w:rPrDefault/w:rPr``, created when a template lacks it."""
    parent = root
    for tag in ("w:docDefaults", "w:rPrDefault", "w:rPr"):
        child = parent.find(qn(tag))
        if child is None:
            child = OxmlElement(tag)
            parent.insert(0, child)
        parent = child
    return parent


def _replace_child(parent: BaseOxmlElement, element: BaseOxmlElement, tag: str, first: bool = False) -> None:
    old = parent.find(qn(tag))
    if old is not None:
        old.addprevious(element)
        parent.remove(old)
    elif first:
        parent.insert(0, element)
    else:
        parent.append(element)
