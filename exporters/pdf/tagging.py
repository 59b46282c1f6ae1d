"""The handout's structure tree (PDF 32000-1, 14.7-14.8; PDF/UA-1): what a screen reader follows.

Layout builds the tree from the model, in reading order, before anything is drawn: each
flowable that shows text or an image carries its structure element as ``tag``. While the
pages are drawn, everything is an artifact unless a tagged flowable is drawing; that one
draws inside marked content with the page's next MCID, which its element records, and a
link it makes becomes a Link element. reportlab cannot write a structure tree, so
``write_tree`` adds it, and the catalog entries PDF/UA asks for, to the saved file with pikepdf.
"""

from __future__ import annotations

import contextlib
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from xml.sax.saxutils import escape

import pikepdf
from pikepdf import Array, Dictionary, Name
from reportlab.pdfgen.canvas import Canvas

from briefkit.model import Publication

# the owner of each role's layout attributes (PDF 32000-1, 14.8.5)
_OWNERS = {"TH": "/Table", "TD": "/Table", "L": "/List"}


@dataclass(frozen=True)
class Marked:
    """Marked content: what an element shows on one page."""

    page: int  # from 0
    mcid: int


@dataclass(frozen=True)
class Annotation:
    """A link annotation, by its place in its page's annotations, and the text that describes it."""

    page: int
    index: int
    contents: str


@dataclass(eq=False)
class Element:
    """A structure element: a standard role, its alternate text, layout attributes, kids in reading order."""

    role: str
    alt: str | None = None
    attributes: dict[str, str] = field(default_factory=dict)  # e.g. a TH's Scope, an L's ListNumbering
    kids: list[Element | Marked | Annotation] = field(default_factory=list)

    def add(self, role: str, alt: str | None = None, **attributes: str) -> Element:
        kid = Element(role, alt, attributes)
        self.kids.append(kid)
        return kid

    def shown(self) -> bool:
        """Whether anything of it reached a page: elements of nothing (an empty item) are left out."""
        return any(not isinstance(kid, Element) or kid.shown() for kid in self.kids)


class Tagged:
    """A flowable's mixin: it draws as content of ``tag``, or as an artifact when that is None."""

    tag: Element | None = None

    def drawOn(self, canv: Canvas, x: float, y: float, _sW: float = 0) -> None:
        with canv.tagger.marked(canv, self.tag):
            super().drawOn(canv, x, y, _sW)  # type: ignore[misc]


class Tagger:
    """Marks what a canvas draws: an artifact, unless a tagged flowable is drawing."""

    def __init__(self) -> None:
        self._next_mcid: dict[int, int] = defaultdict(int)  # per page
        self._annotations: dict[int, int] = defaultdict(int)  # per page, how many so far
        self._held = 0  # how many explicit artifacts are open
        self._owner: Element | None = None  # the element whose flowable is drawing
        self._open = False  # whether the page's artifact is open

    def begin_page(self, canv: Canvas) -> None:
        canv.addLiteral("/Artifact BMC")
        self._open = True

    def end_page(self, canv: Canvas) -> None:
        if self._open:
            canv.addLiteral("EMC")
            self._open = False

    @contextlib.contextmanager
    def marked(self, canv: Canvas, element: Element | None) -> Iterator[None]:
        """Draw as content of ``element``: the page's artifact is closed around it."""
        outer = self._owner
        marking = element is not None and outer is None and not self._held and self._open
        if marking:
            page = canv.getPageNumber() - 1
            mcid = self._next_mcid[page]
            self._next_mcid[page] += 1
            element.kids.append(Marked(page, mcid))
            canv.addLiteral(f"EMC /{element.role} <</MCID {mcid}>> BDC")
        self._owner = element or outer
        try:
            yield
        finally:
            self._owner = outer
            if marking:
                canv.addLiteral("EMC /Artifact BMC")

    @contextlib.contextmanager
    def artifact(self) -> Iterator[None]:
        """Draw as an artifact even what is tagged: a table's header row repeated on the next page."""
        self._held += 1
        try:
            yield
        finally:
            self._held -= 1

    def annotated(self, canv: Canvas, contents: str) -> None:
        """Note the link annotation just made on the page as a Link of the element drawing."""
        page = canv.getPageNumber() - 1
        index = self._annotations[page]
        self._annotations[page] += 1
        if self._owner is None:
            return  # left untagged: the check names it
        link = self._owner if self._owner.role == "Link" else self._owner.add("Link")
        link.kids.append(Annotation(page, index, contents))


def write_tree(path: Path, document: Element, publication: Publication) -> None:
    """Add ``document``'s tree, the parent tree, and PDF/UA's catalog entries to the PDF at ``path``."""
    with pikepdf.open(path, allow_overwriting_input=True) as pdf:
        pages = [page.obj for page in pdf.pages]
        per_page: dict[int, dict[int, Dictionary]] = defaultdict(dict)  # page -> MCID -> element
        annotations: list[tuple[Dictionary, Dictionary]] = []  # (annotation, its Link element)

        def build(element: Element, parent: Dictionary) -> Dictionary:
            node = pdf.make_indirect(Dictionary(Type=Name.StructElem, S=Name("/" + element.role), P=parent))
            # an element's marks on its first page are bare MCIDs, as its Pg says where (14.7.4.2)
            first = next((kid.page for kid in element.kids if isinstance(kid, Marked)), None)
            if first is not None:
                node.Pg = pages[first]
            kids: list[object] = []
            for kid in element.kids:
                if isinstance(kid, Element):
                    if kid.shown():
                        kids.append(build(kid, node))
                elif isinstance(kid, Marked):
                    per_page[kid.page][kid.mcid] = node
                    on_first = kid.page == first
                    kids.append(kid.mcid if on_first else Dictionary(Type=Name.MCR, Pg=pages[kid.page], MCID=kid.mcid))
                else:
                    annotation = pages[kid.page].Annots[kid.index]
                    annotation.Contents = pikepdf.String(kid.contents)
                    annotations.append((annotation, node))
                    kids.append(Dictionary(Type=Name.OBJR, Obj=annotation, Pg=pages[kid.page]))
            node.K = Array(kids)
            if element.alt is not None:
                node.Alt = pikepdf.String(element.alt)
            if element.attributes:
                attributes = {k: Name("/" + v) for k, v in element.attributes.items()}
                node.A = Dictionary(O=Name(_OWNERS[element.role]), **attributes)
            return node

        root = pdf.make_indirect(Dictionary(Type=Name.StructTreeRoot))
        root.K = build(document, root)
        nums: list[object] = []  # a Python list: extending a pikepdf Array copies it
        for n, page in enumerate(pages):
            page.StructParents, page.Tabs = n, Name.S
            marks = per_page[n]
            nums.extend([n, Array([marks[mcid] for mcid in range(len(marks))])])
        for key, (annotation, link) in enumerate(annotations, len(pages)):
            annotation.StructParent = key
            nums.extend([key, link])
        root.ParentTree = pdf.make_indirect(Dictionary(Nums=Array(nums)))
        root.ParentTreeNextKey = len(pages) + len(annotations)
        pdf.Root.StructTreeRoot = root
        pdf.Root.MarkInfo = Dictionary(Marked=True)
        pdf.Root.ViewerPreferences = Dictionary(DisplayDocTitle=True)
        pdf.Root.Metadata = pdf.make_stream(_xmp(publication).encode(), Type=Name.Metadata, Subtype=Name.XML)
        # the ID is made from the content, so the same publication gives the same bytes
        pdf.save(path, deterministic_id=True, min_version="1.7", object_stream_mode=pikepdf.ObjectStreamMode.generate)


def _xmp(publication: Publication) -> str:
    """XMP metadata (ISO 16684-1) with what PDF/UA-1 asks for: dc:title and the pdfuaid part."""
    creators = "".join(f"<rdf:li>{escape(a)}</rdf:li>" for a in publication.authors or [publication.organisation] if a)
    date = f"{publication.edition:%Y-%m-%d}T00:00:00Z"
    return f"""<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/">
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
<rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:xmp="http://ns.adobe.com/xap/1.0/"
 xmlns:pdfuaid="http://www.aiim.org/pdfua/ns/id/">
<dc:title><rdf:Alt><rdf:li xml:lang="x-default">{escape(publication.title)}</rdf:li></rdf:Alt></dc:title>
<dc:creator><rdf:Seq>{creators}</rdf:Seq></dc:creator>
<dc:language><rdf:Bag><rdf:li>{escape(publication.language)}</rdf:li></rdf:Bag></dc:language>
<xmp:CreatorTool>briefkit</xmp:CreatorTool>
<xmp:CreateDate>{date}</xmp:CreateDate>
<xmp:ModifyDate>{date}</xmp:ModifyDate>
<pdfuaid:part>1</pdfuaid:part>
</rdf:Description>
</rdf:RDF>
</x:xmpmeta>
<?xpacket end="r"?>"""
