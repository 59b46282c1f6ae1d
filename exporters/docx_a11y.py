"""What the Word pack's check verifies for accessibility, on the written file.

The properties Word's own accessibility checker and WCAG ask of a document: its language
(styles and settings), a title, a heading outline that skips no level, text for every image,
table header rows, links with text, and nothing marked by colour alone.
"""

from __future__ import annotations

import re

from docx.document import Document
from docx.oxml.ns import qn

_HEADING_NAME = re.compile(r"heading ([1-9])")
_EMPHASIS = "w:b[not(@w:val='0' or @w:val='false')] or w:i[not(@w:val='0' or @w:val='false')] or w:u[@w:val!='none']"
_COLOURED = f"w:color[@w:val!='auto' and @w:val!='000000'] and not({_EMPHASIS})"


def problems(document: Document) -> list[str]:
    """What a screen reader, or a reader who cannot tell colours apart, would miss."""
    root, styles = document.element, document.styles.element
    found: list[str] = []
    if not styles.xpath("string(w:docDefaults/w:rPrDefault/w:rPr/w:lang/@w:val)"):
        found.append("no document language in the styles' defaults (w:lang)")
    if not document.settings.element.xpath("string(w:themeFontLang/@w:val)"):
        found.append("no document language in the settings (w:themeFontLang)")
    if not document.core_properties.title:
        found.append("no title in the core properties")
    found += _heading_order(document)
    parts = [root] + [
        part._element  # python-docx has no public access to a header's XML
        for section in document.sections
        for part in (section.header, section.first_page_header, section.footer, section.first_page_footer)
    ]
    for drawing in (d for part in parts for d in part.xpath(".//wp:docPr")):
        if not drawing.get("descr", "").strip() and not drawing.xpath(".//*[local-name()='decorative'][@val='1']"):
            found.append(f"image '{drawing.get('name', '')}' has no alternative text")
    found += [
        "table without a header row (w:tblHeader)" for _ in root.xpath("//w:tbl[not(w:tr[1]/w:trPr/w:tblHeader)]")
    ]
    rels = document.part.rels
    for link in root.xpath("//w:hyperlink[not(.//w:t[normalize-space()])]"):
        rid = link.get(qn("r:id"))
        found.append(f"hyperlink '{rels[rid].target_ref if rid in rels else link.get(qn('w:anchor'))}' has no text")
    for part in parts:
        found += [f"text '{''.join(r.xpath('../w:t/text()'))}' marked by colour alone"
                  for r in part.xpath(f".//w:r/w:rPr[{_COLOURED} and not(w:rStyle)]")]  # fmt: skip
    used = {style for part in parts for style in part.xpath(".//w:rStyle/@w:val")}
    found += [f"character style '{s}' marks text by colour alone"
              for s in styles.xpath(f"w:style[@w:type='character'][w:rPr[{_COLOURED}]]/@w:styleId") if s in used]  # fmt: skip
    return found


def _heading_order(document: Document) -> list[str]:
    """Headings, by their styles' names, each at most one level below the heading before it."""
    levels = {
        style.get(qn("w:styleId")): int(m.group(1))
        for style in document.styles.element.iterchildren(qn("w:style"))
        if (m := _HEADING_NAME.fullmatch(style.xpath("string(w:name/@w:val)").lower()))
    }
    found: list[str] = []
    previous = 0
    for style in document.element.xpath("w:body//w:p/w:pPr/w:pStyle/@w:val"):
        if style in levels:
            if levels[style] > previous + 1:
                found.append(f"heading level {levels[style]} follows level {previous}")
            previous = levels[style]
    return found
