"""Finding a theme's TrueType font family on disk and what characters it can draw.

The PDF embeds these files, and validation uses their character maps to warn about
characters that would print as boxes (BK207). Families are looked up by name in the
usual font folders, e.g. "DejaVu Sans" -> DejaVuSans.ttf, DejaVuSans-Bold.ttf, ...
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from pathlib import Path

FONT_DIRS: tuple[Path, ...] = (
    *(Path(p) for p in os.environ.get("BRIEFKIT_FONT_DIRS", "").split(os.pathsep) if p),
    Path("/usr/share/fonts/truetype"),
    Path("/usr/share/fonts"),
    Path("/usr/local/share/fonts"),
    Path.home() / ".fonts",
    Path("/Library/Fonts"),
    Path("C:/Windows/Fonts"),
)

_FACE_SUFFIXES: dict[str, tuple[str, ...]] = {
    "regular": ("", "-Regular"),
    "bold": ("-Bold",),
    "italic": ("-Italic", "-Oblique"),
    "bold_italic": ("-BoldItalic", "-BoldOblique"),
}


@dataclass(frozen=True)
class FontFamily:
    name: str
    regular: Path
    bold: Path
    italic: Path
    bold_italic: Path

    @property
    def faces(self) -> tuple[Path, Path, Path, Path]:
        return (self.regular, self.bold, self.italic, self.bold_italic)


@functools.cache
def _index() -> dict[str, Path]:
    """Every .ttf file in the font folders by lower-case stem; first folder wins."""
    found: dict[str, Path] = {}
    for root in FONT_DIRS:
        if root.is_dir():
            for path in sorted(root.rglob("*.ttf")):
                found.setdefault(path.stem.lower(), path)
    return found


def find_family(name: str) -> FontFamily | None:
    """The four faces of family ``name``, or None when any face is not installed."""
    stem = name.replace(" ", "").lower()
    index = _index()
    faces: dict[str, Path] = {}
    for face, suffixes in _FACE_SUFFIXES.items():
        path = next((index[stem + s.lower()] for s in suffixes if stem + s.lower() in index), None)
        if path is None:
            return None
        faces[face] = path
    return FontFamily(name=name, **faces)


def installed_families() -> list[str]:
    """Names of the complete families on this machine, for "did you mean" hints."""
    stems = {s for s in _index() if "-" not in s}
    return sorted(s for s in stems if find_family(s) is not None)


@functools.cache
def coverage(family: FontFamily) -> frozenset[int]:
    """Code points every face of ``family`` has a glyph for."""
    from reportlab.pdfbase.ttfonts import TTFontFile

    sets = [frozenset(TTFontFile(str(face)).charToGlyph) for face in family.faces]
    return frozenset.intersection(*sets)
