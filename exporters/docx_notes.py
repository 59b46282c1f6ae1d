"""The footnotes part of the briefing pack, which python-docx has no API for.

Word numbers footnotes by the order of their references and expects the two separator
notes (ids -1 and 0) that draw the rule above them; ``settings.xml`` names those.
"""

from __future__ import annotations

from docx.document import Document
from docx.opc.constants import CONTENT_TYPE as CT
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.opc.packuri import PackURI
from docx.opc.part import Part
from docx.oxml.ns import qn
from docx.oxml.parser import parse_xml
from docx.oxml.xmlchemy import BaseOxmlElement
from lxml import etree

from exporters.docx_body import R_NS
from exporters.docx_styles import W_NS

PARTNAME = "/word/footnotes.xml"
_SEPARATORS = (
    '<w:footnote w:type="separator" w:id="-1"><w:p><w:pPr><w:spacing w:after="0" w:line="240" w:lineRule="auto"/>'
    "</w:pPr><w:r><w:separator/></w:r></w:p></w:footnote>"
    '<w:footnote w:type="continuationSeparator" w:id="0"><w:p><w:pPr><w:spacing w:after="0" w:line="240" '
    'w:lineRule="auto"/></w:pPr><w:r><w:continuationSeparator/></w:r></w:p></w:footnote>'
)
# settings.xml children that come after w:footnotePr (the schema fixes their order)
_AFTER_FOOTNOTE_PR = (
    "w:endnotePr", "w:compat", "w:docVars", "w:rsids", "m:mathPr", "w:attachedSchema", "w:themeFontLang",
    "w:clrSchemeMapping", "w:doNotIncludeSubdocsInStats", "w:doNotAutoCompressPictures", "w:forceUpgrade",
    "w:captions", "w:readModeInkLockDown", "w:smartTagType", "sl:schemaLibrary", "w:shapeDefaults",
    "w:doNotEmbedSmartTags", "w:decimalSymbol", "w:listSeparator",
)  # fmt: skip


def install(document: Document, footnotes: list[str]) -> None:
    """Give ``document`` a footnotes part holding ``footnotes`` (w:footnote elements), replacing
    any a reference document brought: its notes belong to its own text."""
    rels = document.part.rels
    for rid in [rid for rid, rel in rels.items() if rel.reltype == RT.FOOTNOTES]:
        del rels[rid]
    settings = document.settings.element
    for old in settings.findall(qn("w:footnotePr")):
        settings.remove(old)
    if not footnotes:
        return
    xml = f'<w:footnotes xmlns:w="{W_NS}" xmlns:r="{R_NS}">{_SEPARATORS}{"".join(footnotes)}</w:footnotes>'
    blob = etree.tostring(parse_xml(xml), xml_declaration=True, encoding="UTF-8", standalone=True)
    document.part.relate_to(Part(PackURI(PARTNAME), CT.WML_FOOTNOTES, blob, document.part.package), RT.FOOTNOTES)
    pr = parse_xml(f'<w:footnotePr xmlns:w="{W_NS}"><w:footnote w:id="-1"/><w:footnote w:id="0"/></w:footnotePr>')
    settings.insert_element_before(pr, *_AFTER_FOOTNOTE_PR)


def footnotes(document: Document) -> dict[int, BaseOxmlElement]:
    """The notes of ``document`` by id, separators aside."""
    part = next((rel.target_part for rel in document.part.rels.values() if rel.reltype == RT.FOOTNOTES), None)
    if part is None:
        return {}
    root = parse_xml(part.blob)
    return {int(n.get(qn("w:id"))): n for n in root.iterchildren(qn("w:footnote")) if n.get(qn("w:type")) is None}
