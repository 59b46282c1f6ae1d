"""Fixes for reportlab 5.1 that the handout needs, each with its reason.

Only ``applied()`` touches reportlab's globals, and only while an export runs; the rest are
a font subclass that only our registered faces use, and the stand-ins the markup and
hyphenation (hyphens.py) use.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

from reportlab import rl_config
from reportlab.pdfbase import ttfonts

# reportlab's Paragraph drops a soft hyphen (or prints "-" where it breaks) and treats a
# zero-width space as white space to strip. They go through layout as stand-ins that
# validation never lets into a text (non-characters), draw nothing, and map back to the
# real character in the ToUnicode table, so the page looks right and the text is exact.
STAND_INS = {0x00AD: 0xFDD0, 0x200B: 0xFDD1}
_TO_STAND_IN = str.maketrans(STAND_INS)
_SWAPPED = tuple(map(chr, STAND_INS))
# The hyphen the layout adds where it hyphenates a word (hyphens.py): drawn as a hyphen, read as
# a soft hyphen, which is what it is: a hyphen shown only because the line breaks there.
BREAK_HYPHEN = "\ufdd2"
_FROM_STAND_IN = {**{v: k for k, v in STAND_INS.items()}, ord(BREAK_HYPHEN): 0x00AD}


def with_stand_ins(text: str) -> str:
    """``text`` with soft hyphens and zero-width spaces swapped for their stand-ins."""
    # translate looks every character up, slowly in text that is not all ASCII, and few texts hold either
    if any(char in text for char in _SWAPPED):
        return text.translate(_TO_STAND_IN)
    return text


class TTFont(ttfonts.TTFont):
    """A TrueType font whose PDF text layer keeps every character.

    Registered under our own names, so no other font is affected.
    """

    _faces_lock = threading.Lock()  # faces are shared by exports running in other threads

    def __init__(self, name: str, filename: str) -> None:
        super().__init__(name, filename)
        self._widths: dict[tuple[str, float], float] = {}

    def stringWidth(self, text: str, size: float, encoding: str = "utf8") -> float:
        """reportlab's width of ``text``, remembered: the one speed fix measured to be worth keeping.

        Line breaking measures every word again at every wrap, and drawing every fragment
        again, character by character in pure Python, while a text has a small vocabulary.
        """
        key = (text, size)
        width = self._widths.get(key)
        if width is None:
            width = self._widths[key] = super().stringWidth(text, size, encoding)
        return width

    # reportlab's getAscentDescent asks the font for these at every word it lays out, and takes the
    # face's only after an AttributeError: the same numbers without raising and catching one
    @property
    def ascent(self) -> float:
        return self.face.ascent

    @property
    def descent(self) -> float:
        return self.face.descent

    def keep_text(self, chars: set[str]) -> None:
        """Give ``chars`` the face lacks a code of their own that draws the .notdef glyph.

        reportlab draws them all as code 0, whose ToUnicode entry is U+0000, so the text
        is lost for search, copy and read-back. Mapped this way the page shows the same box
        (validation warns about it, BK207) and the text layer keeps the character. Only
        ever adds entries for characters the face lacks, so another export is unaffected.
        Stand-ins draw the (empty) space glyph with no width; BREAK_HYPHEN the hyphen's glyph.
        """
        face = self.face
        with self._faces_lock:
            self._widths.clear()  # widths change below; this also bounds it to one export's vocabulary
            for code in {ord(c) for c in chars}.difference(face.charToGlyph):
                face.charToGlyph[code] = 0
                face.charWidths[code] = face.defaultWidth
            for code in STAND_INS.values():
                face.charToGlyph[code] = face.charToGlyph.get(0x20, 0)
                face.charWidths[code] = 0
            hyphen = ord(BREAK_HYPHEN)
            face.charToGlyph[hyphen] = face.charToGlyph.get(0x2D, 0)
            face.charWidths[hyphen] = face.charWidths.get(0x2D, face.defaultWidth)

    def addObjects(self, doc: object) -> None:
        """reportlab's font objects, with a ToUnicode CMap of UTF-16BE targets.

        reportlab 5.1's ``ttfonts.makeToUnicodeCMap`` writes ``<%04X>``, an odd-length hex
        string for characters beyond U+FFFF, which PDF readers reject. Each subset's CMap is
        rewritten after reportlab makes it; for the Basic Multilingual Plane it is byte for
        byte reportlab's.
        """
        state = self.state.get(doc)
        subsets = [list(subset) for subset in state.subsets] if state is not None else []
        prefix = state.internalName if state is not None else None
        super().addObjects(doc)
        fonts = doc.idToObject["BasicFonts"].dict
        for n, subset in enumerate(subsets):
            font = fonts[f"{prefix}+{n}"]
            doc.idToObject[font.ToUnicode.name].content = _to_unicode_cmap(font.BaseFont, subset)


def _to_unicode_cmap(fontname: str, subset: list[int]) -> str:
    lines = [
        "/CIDInit /ProcSet findresource begin", "12 dict begin", "begincmap",
        f"/CIDSystemInfo\n<< /Registry ({fontname})\n/Ordering ({fontname})\n/Supplement 0\n>> def",
        f"/CMapName /{fontname} def", "/CMapType 2 def",
        "1 begincodespacerange", f"<00> <{len(subset) - 1:02X}>", "endcodespacerange",
        f"{len(subset)} beginbfchar",
        *(f"<{i:02X}> <{_utf16(_FROM_STAND_IN.get(v, v))}>" for i, v in enumerate(subset)),
        "endbfchar", "endcmap", "CMapName currentdict /CMap defineresource pop", "end", "end",
    ]  # fmt: skip
    return "\n".join(lines)


def _utf16(code: int) -> str:
    return chr(code).encode("utf-16-be", "surrogatepass").hex().upper()


_lock = threading.Lock()
_users = 0
_saved: dict[str, object] = {}


@contextlib.contextmanager
def applied() -> Iterator[None]:
    """reportlab's global settings as the handout needs them, for as long as any export runs.

    Reference-counted under a lock: the first export to start sets them, the last to end
    puts reportlab's values back, so exports in parallel threads never undo each other.

    - ``rl_config.useA85 = 0``: streams deflated only, not also ASCII85-encoded, which is
      for 7-bit channels and makes the file larger; read by reportlab's pdfdoc when it
      writes each stream, so it cannot be set per document.
    """
    global _users
    with _lock:
        if _users == 0:
            _saved["useA85"] = rl_config.useA85
            rl_config.useA85 = 0
        _users += 1
    try:
        yield
    finally:
        with _lock:
            _users -= 1
            if _users == 0:
                rl_config.useA85 = _saved.pop("useA85")
