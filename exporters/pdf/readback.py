"""Reading a handout back as a screen reader gets it, and checking what PDF/UA asks of it.

pikepdf parses the file. The text is read through the structure tree in its reading order,
not in page order: each passage is a Sect of the Document, its H1 the title and the rest
the body, a Figure by its alternate text, list labels (Lbl) left out. Each page's content gives the text of each
marked-content sequence; text that is neither content of an element nor an artifact, and
content no element owns, make the file unreadable. Text is decoded from the text operators
rather than by an extractor, which reverses runs of Hebrew and Arabic on the assumption
that they were drawn in visual order (reportlab draws text in logical order).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pikepdf
from pikepdf import Dictionary, Name

from exporters.registry import ReadBack

_BFCHAR = re.compile(rb"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>")
_IDENTITY = (1.0, 0.0, 0.0, 1.0, 0.0, 0.0)
Matrix = tuple[float, float, float, float, float, float]
Key = tuple[int, int]  # (page from 0, MCID)


@dataclass(frozen=True)
class Run:
    """Text shown by one text operator, and the height of its baseline on the page."""

    y: float
    text: str


class UnreadableError(ValueError):
    """The file shows text a screen reader cannot reach, or its tree is broken."""


def read_back(path: Path) -> ReadBack:
    """Passages as the structure tree gives them: (title, body) of each Sect of the Document."""
    with pikepdf.open(path) as pdf:
        pages = {page.objgen: n for n, page in enumerate(pdf.pages)}
        shown = _marked_text(pdf)
        owned: set[Key] = set()

        def text(element: Dictionary) -> str:
            if element.get("/S") == "/Lbl":  # a list item's bullet or number: not the passage's text
                _collect(element, pages, owned)
                return ""
            if element.get("/S") == "/Figure" and "/Alt" in element:
                _collect(element, pages, owned)
                return str(element.Alt)
            parts: list[str] = []
            for kid in _kids(element):
                if _is_element(kid):
                    parts.append(text(kid))
                elif (key := _content_key(kid, element, pages)) is not None:
                    owned.add(key)
                    parts.append(_join(shown.get(key, [])))
            return "\n".join(part for part in parts if part)

        out: ReadBack = []
        document = pdf.Root.StructTreeRoot.K
        for part in _kids(document):
            if part.get("/S") != "/Sect":
                _collect(part, pages, owned)  # the front matter
                continue
            heading, *rest = _kids(part)
            out.append((text(heading), "\n".join(t for t in map(text, rest) if t)))
        if unowned := sorted(shown.keys() - owned):
            page, mcid = unowned[0]
            raise UnreadableError(f"page {page + 1}: marked content {mcid} belongs to no structure element")
        return out


def _kids(element: Dictionary) -> list[object]:
    kids = element.get("/K")
    return list(kids) if isinstance(kids, pikepdf.Array) else [] if kids is None else [kids]


def _is_element(kid: object) -> bool:
    """Whether a kid in the tree is a structure element, not marked content or an object reference."""
    return isinstance(kid, Dictionary) and kid.get("/Type") in (None, "/StructElem")


def _content_key(kid: object, element: Dictionary, pages: dict[tuple[int, int], int]) -> Key | None:
    """The page and MCID of a marked-content kid (an MCID, or an MCR); None for an object reference."""
    if isinstance(kid, int):
        return pages[element.Pg.objgen], kid
    if isinstance(kid, Dictionary) and kid.get("/Type") == "/MCR":
        return pages[kid.get("/Pg", element.get("/Pg")).objgen], int(kid.MCID)
    return None


def _collect(element: Dictionary, pages: dict[tuple[int, int], int], owned: set[Key]) -> None:
    """Add the content ``element`` and its descendants own to ``owned``."""
    for kid in _kids(element):
        if _is_element(kid):
            _collect(kid, pages, owned)
        elif (key := _content_key(kid, element, pages)) is not None:
            owned.add(key)


def _marked_text(pdf: pikepdf.Pdf) -> dict[Key, list[Run]]:
    """The text of every marked-content sequence with an MCID, by page and MCID; artifacts skipped."""
    out: dict[Key, list[Run]] = {}
    tables: dict[tuple[int, int], list[str]] = {}
    for number, page in enumerate(pdf.pages):
        for mcid, run in _page_runs(page, tables):
            if mcid is None:
                raise UnreadableError(f"page {number + 1}: text outside the structure tree: {run.text!r}")
            out.setdefault((number, mcid), [])
            if run.text:
                out[(number, mcid)].append(run)
    return out


# the operators _page_runs follows; pikepdf passes over the rest (paths, colours, images)
_FOLLOWED = "q Q cm BMC BDC EMC BT Tm Td TD T* TL Tf Tj TJ ' \""
_SHOW = frozenset(("Tj", "TJ", "'", '"'))
_NO_FONT = ["\ufffd"] * 256


def _page_runs(page: pikepdf.Page, tables: dict[tuple[int, int], list[str]]) -> Iterator[tuple[int | None, Run]]:
    """The page's text outside artifacts, in drawing order, each with the MCID it is marked with.

    Only what reportlab writes is followed: q/Q, cm, BT, Tm, Td/TD/T*, TL, Tf, the text
    operators and marked content. An empty run stands for a sequence that shows no text.
    """
    fonts = page.Resources.get("/Font", Dictionary())
    ctm, tm, line = _IDENTITY, _IDENTITY, _IDENTITY
    leading, table = 0.0, _NO_FONT
    stack: list[tuple[Matrix, list[str]]] = []
    marks: list[int | str | None] = []  # per open sequence: its MCID, "artifact", or None
    # an instruction's attributes, not unpacking it: pikepdf unpacks slowly, and pages hold many
    for instruction in pikepdf.parse_content_stream(page, _FOLLOWED):
        op = str(instruction.operator)
        if op in _SHOW:  # the commonest first
            if "artifact" in marks:
                continue
            operands = instruction.operands
            if op == "TJ":  # strings and the spacing between them
                raw = b"".join(bytes(s) for s in operands[0] if isinstance(s, pikepdf.String))
            else:
                raw = bytes(operands[-1])
            mcid = next((m for m in reversed(marks) if isinstance(m, int)), None)
            y = tm[4] * ctm[1] + tm[5] * ctm[3] + ctm[5]  # the baseline's height on the page
            yield mcid, Run(y, raw.decode("latin-1").translate(table))  # one byte per code: simple fonts
        elif op == "TL":
            leading = float(instruction.operands[0])
        elif op == "Tf":
            font = fonts.get(instruction.operands[0])
            if font is not None and font.objgen not in tables:
                tables[font.objgen] = _unicode_table(font)
            table = tables[font.objgen] if font is not None else _NO_FONT
        elif op == "q":
            stack.append((ctm, table))
        elif op == "Q":
            if stack:
                ctm, table = stack.pop()
        elif op in ("Td", "TD", "T*"):
            operands = instruction.operands
            tx, ty = (0.0, -leading) if op == "T*" else (float(operands[0]), float(operands[1]))
            leading = -ty if op == "TD" else leading
            tm = line = _mult((1, 0, 0, 1, tx, ty), line)
        elif op == "EMC":
            if marks:
                marks.pop()
        elif op == "cm":
            ctm = _mult(tuple(map(float, instruction.operands)), ctm)
        elif op == "BT":
            tm = line = _IDENTITY
        elif op == "Tm":
            tm = line = tuple(map(float, instruction.operands))
        elif op in ("BMC", "BDC"):
            operands = instruction.operands
            properties = operands[1] if op == "BDC" and isinstance(operands[1], Dictionary) else {}
            mark = "artifact" if operands[0] == Name.Artifact else properties.get("/MCID")
            marks.append(int(mark) if mark is not None and mark != "artifact" else mark)
            if isinstance(marks[-1], int):
                yield marks[-1], Run(0.0, "")


def _mult(m: Matrix, n: Matrix) -> Matrix:
    return (
        m[0] * n[0] + m[1] * n[2], m[0] * n[1] + m[1] * n[3],
        m[2] * n[0] + m[3] * n[2], m[2] * n[1] + m[3] * n[3],
        m[4] * n[0] + m[5] * n[2] + n[4], m[4] * n[1] + m[5] * n[3] + n[5],
    )  # fmt: skip


def _unicode_table(font: Dictionary) -> list[str]:
    """The text of each byte code, for str.translate, from a simple font's ToUnicode CMap (bfchar
    entries, as reportlab writes): U+FFFD where it has none, nothing for a soft hyphen that is
    drawn (_break_hyphens)."""
    table = list(_NO_FONT)
    cmap = font.get("/ToUnicode")
    if cmap is None:
        return table
    texts: dict[int, str] = {}
    for section in re.findall(rb"beginbfchar(.*?)endbfchar", cmap.read_bytes(), re.S):
        for src, dst in _BFCHAR.findall(section):
            texts[int(src, 16)] = bytes.fromhex(dst.decode()).decode("utf-16-be", "surrogatepass")
    for code in _break_hyphens(font, texts):
        texts[code] = ""
    for code, text in texts.items():
        if code < 256:
            table[code] = text
    return table


def _break_hyphens(font: Dictionary, cmap: dict[int, str]) -> list[int]:
    """The codes of soft hyphens the font draws with a width: hyphens the layout added where it broke
    a word (exporters/pdf/hyphens.py), not text. A soft hyphen of the source is drawn with none."""
    widths, first = font.get("/Widths", pikepdf.Array()), int(font.get("/FirstChar", 0))
    return [
        code
        for code, text in cmap.items()
        if text == "\u00ad" and 0 <= code - first < len(widths) and float(widths[code - first]) > 0
    ]


def _join(runs: list[Run]) -> str:
    """Runs on one baseline joined directly, lines joined by new lines."""
    parts: list[str] = []
    for prev, run in zip([None, *runs], runs):
        if prev is not None and prev.y != run.y:
            parts.append("\n")
        parts.append(run.text)
    return "".join(parts)


def check(path: Path) -> list[str]:
    """What a reader relies on that the text does not show: PDF/UA's catalog entries, a tagged
    link for every annotation, headings that skip no level, alternate text on every figure, an
    outline of passages and their sections, fonts embedded."""
    problems: list[str] = []
    with pikepdf.open(path) as pdf:
        root = pdf.Root
        if not root.get("/MarkInfo", {}).get("/Marked", False) or "/StructTreeRoot" not in root:
            problems.append("not a tagged PDF: no structure tree or MarkInfo /Marked")
        if not root.get("/ViewerPreferences", {}).get("/DisplayDocTitle", False):
            problems.append("viewers are not told to show the title (DisplayDocTitle)")
        if "/Lang" not in root:
            problems.append("no document language (Lang)")
        if "/Metadata" not in root or b"<pdfuaid:part>1</pdfuaid:part>" not in root.Metadata.read_bytes():
            problems.append("no XMP metadata naming PDF/UA-1 (pdfuaid:part)")
        if "/StructTreeRoot" in root:
            problems += _tree_problems(root.StructTreeRoot)
        for number, page in enumerate(pdf.pages, 1):
            if page.get("/Tabs") != "/S" or "/StructParents" not in page:
                problems.append(f"page {number}: no StructParents, or tab order not the structure's")
            problems += [f"page {number}: a link annotation is not in the structure tree"
                         for a in page.get("/Annots", []) if "/StructParent" not in a]  # fmt: skip
            for name, font in page.Resources.get("/Font", {}).items():
                descriptor = font.get("/FontDescriptor")
                if descriptor is None or "/FontFile2" not in descriptor:
                    problems.append(f"page {number}: font {name} ({font.get('/BaseFont')}) is not embedded TrueType")
        with pdf.open_outline() as outline:
            if any(section.children for item in outline.root for section in item.children):
                problems.append("outline nests deeper than passages and their sections")
    return problems


def _tree_problems(tree: Dictionary) -> list[str]:
    problems: list[str] = []
    level = 0
    todo = list(reversed(_kids(tree)))
    while todo:  # depth first, in reading order
        element = todo.pop()
        if not _is_element(element):
            continue
        role = str(element.get("/S", ""))
        if re.fullmatch(r"/H[1-6]", role):
            if int(role[2]) > level + 1:
                problems.append(f"heading {role[1:]} follows heading H{level}: a level is skipped")
            level = int(role[2])
        if role == "/Figure" and not str(element.get("/Alt", "")).strip():
            problems.append("a figure has no alternate text (Alt)")
        todo.extend(reversed(_kids(element)))
    return problems
