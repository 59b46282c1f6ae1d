"""The handout's fonts: the theme family and a monospace family, registered with reportlab."""

from __future__ import annotations

import functools
import threading
from dataclasses import dataclass

from reportlab.pdfbase import pdfmetrics

from briefkit.fonts import FontFamily, find_family
from exporters.pdf.fixes import TTFont

MONO_FAMILY = "DejaVu Sans Mono"


@dataclass(frozen=True)
class Fonts:
    """Registered reportlab font names: the theme family and a monospace family."""

    regular: str
    bold: str
    italic: str
    bold_italic: str
    mono: str
    faces: tuple[str, ...]  # every registered face, monospace ones included

    def keep_text(self, chars: set[str]) -> None:
        """Let every face keep ``chars`` in the text layer, drawn or not (TTFont.keep_text)."""
        for name in self.faces:
            pdfmetrics.getFont(name).keep_text(chars)


# A face registered twice would replace the font object that a running export keeps its state in.
_register_lock = threading.Lock()


@functools.cache
def _register(family: FontFamily) -> tuple[str, str, str, str]:
    """Register the four faces of ``family`` once per process (parsing a TTF is costly)."""
    base = f"bk-{family.name.replace(' ', '')}"
    names = (base, f"{base}-Bold", f"{base}-Italic", f"{base}-BoldItalic")
    for name, path in zip(names, family.faces):
        pdfmetrics.registerFont(TTFont(name, str(path)))
    pdfmetrics.registerFontFamily(base, normal=names[0], bold=names[1], italic=names[2], boldItalic=names[3])
    return names


def fonts_for(font: str) -> Fonts:
    family = find_family(font)
    if family is None:
        raise ValueError(f"font family '{font}' is not installed with regular, bold, italic and bold italic faces")
    mono_family = find_family(MONO_FAMILY)
    with _register_lock:
        names = _register(family)
        mono = _register(mono_family) if mono_family is not None else names
    return Fonts(*names, mono=mono[0], faces=tuple(dict.fromkeys(names + mono)))
