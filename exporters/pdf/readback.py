"""Reading a handout back as a reader's program sees it, and checking its structure.

pypdf parses the file and its content streams. The text is taken from the text operators
in stream order rather than from pypdf's extract_text, which reverses runs of Hebrew and
Arabic on the assumption that they were drawn in visual order (reportlab draws text in
logical order), and which does not say which text is inside an artifact.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from pypdf import PageObject, PdfReader, mult
from pypdf.generic import ArrayObject, ContentStream, IndirectObject

from exporters.registry import ReadBack

_BFCHAR = re.compile(rb"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>")
_IDENTITY = [1.0, 0.0, 0.0, 1.0, 0.0, 0.0]


@dataclass(frozen=True)
class Run:
    """Text shown by one text operator, outside artifacts."""

    page: int
    y: float
    size: float
    text: str


def read_back(path: Path) -> ReadBack:
    """Passages as the PDF shows them: each top-level outline entry starts one, at its destination.

    A passage's title is its leading text in one size, the passage heading's; the body is
    the rest up to the next destination. Artifacts (header, footer, list labels)
    are skipped.
    """
    reader = PdfReader(path)
    # the top level: passages; their sections are nested under them
    passages = [item for item in reader.outline if not isinstance(item, list)]
    starts = [(reader.get_destination_page_number(item), -float(item.top)) for item in passages]
    regions: list[list[Run]] = [[] for _ in starts]
    maps: dict[object, dict[int, str]] = {}
    current = -1  # the passage whose region the next run is in
    for number in range(starts[0][0], len(reader.pages)) if starts else ():
        for run in _page_runs(reader, number, maps):
            while current + 1 < len(starts) and starts[current + 1] <= (run.page, -run.y):
                current += 1
            if current >= 0:
                regions[current].append(run)
    out: ReadBack = []
    for runs in regions:
        n = next((i for i, r in enumerate(runs) if r.size != runs[0].size), len(runs)) if runs else 0
        out.append((_join(runs[:n]), _join(runs[n:])))
    return out


def _page_runs(reader: PdfReader, number: int, maps: dict[object, dict[int, str]]) -> list[Run]:
    """The text a page shows outside artifacts, in drawing order, decoded via ToUnicode.

    Only what reportlab writes is followed: q/Q, cm, BT, Tm, Td/TD/T*, TL, Tf and the text
    operators; a text's size is its font size scaled by the text and graphics matrices.
    """
    page: PageObject = reader.pages[number]
    fonts = page["/Resources"].get_object().get("/Font", {})
    runs: list[Run] = []
    ctm, tm, line = _IDENTITY, _IDENTITY, _IDENTITY
    leading, size, cmap = 0.0, 0.0, {}
    stack: list[tuple[list[float], float, dict[int, str]]] = []
    marks: list[bool] = []  # one per open marked-content sequence: is it an artifact?
    for operands, op in ContentStream(page.get_contents(), reader).operations:
        if op == b"q":
            stack.append((ctm, size, cmap))
        elif op == b"Q" and stack:
            ctm, size, cmap = stack.pop()
        elif op == b"cm":
            ctm = mult([float(v) for v in operands], ctm)
        elif op in (b"BMC", b"BDC"):
            marks.append(operands[0] == "/Artifact")
        elif op == b"EMC" and marks:
            marks.pop()
        elif op == b"BT":
            tm = line = _IDENTITY
        elif op == b"Tm":
            tm = line = [float(v) for v in operands]
        elif op in (b"Td", b"TD", b"T*"):
            tx, ty = (0.0, -leading) if op == b"T*" else (float(operands[0]), float(operands[1]))
            leading = -ty if op == b"TD" else leading
            tm = line = mult([1, 0, 0, 1, tx, ty], line)
        elif op == b"TL":
            leading = float(operands[0])
        elif op == b"Tf":
            ref = fonts.raw_get(operands[0]) if operands[0] in fonts else None
            key = ref.idnum if isinstance(ref, IndirectObject) else operands[0]
            if key not in maps:
                maps[key] = _unicode_map(ref.get_object()) if ref is not None else {}
            cmap, size = maps[key], float(operands[1])
        elif op in (b"Tj", b"TJ", b"'", b'"') and not any(marks):
            strings = operands[0] if op == b"TJ" else operands[-1:]
            raw = b"".join(_bytes(s) for s in strings if isinstance(s, (bytes, str)))
            m = mult(tm, ctm)
            runs.append(Run(number, m[5], round(size * abs(m[3]), 2), "".join(cmap.get(b, "\ufffd") for b in raw)))
    return runs


def _bytes(string: bytes | str) -> bytes:
    """A string operand's bytes as written: pypdf decodes some of them to text."""
    return string if isinstance(string, bytes) else string.original_bytes


def _unicode_map(font: object) -> dict[int, str]:
    """Byte code -> text from a simple font's ToUnicode CMap (bfchar entries, as reportlab writes),
    with no text for a soft hyphen that is drawn (_break_hyphens)."""
    cmap = font.get("/ToUnicode") if hasattr(font, "get") else None
    if cmap is None:
        return {}
    data = cmap.get_object().get_data()
    out: dict[int, str] = {}
    for section in re.findall(rb"beginbfchar(.*?)endbfchar", data, re.S):
        for src, dst in _BFCHAR.findall(section):
            out[int(src, 16)] = bytes.fromhex(dst.decode()).decode("utf-16-be", "surrogatepass")
    for code in _break_hyphens(font, out):
        out[code] = ""
    return out


def _break_hyphens(font: object, cmap: dict[int, str]) -> list[int]:
    """The codes of soft hyphens the font draws with a width: hyphens the layout added where it broke
    a word (exporters/pdf/hyphens.py), not text. A soft hyphen of the source is drawn with none."""
    widths, first = font.get("/Widths", ArrayObject()).get_object(), font.get("/FirstChar", 0)
    return [
        code
        for code, text in cmap.items()
        if text == "\u00ad" and 0 <= code - first < len(widths) and float(widths[code - first]) > 0
    ]


def _join(runs: list[Run]) -> str:
    """Runs on one baseline joined directly, lines joined by new lines."""
    parts: list[str] = []
    for prev, run in zip([None, *runs], runs):
        if prev is not None and (prev.page, prev.y) != (run.page, run.y):
            parts.append("\n")
        parts.append(run.text)
    return "".join(parts)


def check(path: Path) -> list[str]:
    """Structural checks a reader relies on: an outline of passages and their sections, fonts embedded."""
    reader = PdfReader(path)
    problems: list[str] = []
    if any(isinstance(entry, list) for item in reader.outline if isinstance(item, list) for entry in item):
        problems.append("outline nests deeper than passages and their sections")
    for number, page in enumerate(reader.pages, 1):
        for name, font in page["/Resources"].get_object().get("/Font", {}).items():
            descriptor = font.get_object().get("/FontDescriptor")
            if descriptor is None or "/FontFile2" not in descriptor.get_object():
                problems.append(
                    f"page {number}: font {name} ({font.get_object().get('/BaseFont')}) is not embedded TrueType"
                )
    return problems
