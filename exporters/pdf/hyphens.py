"""Hyphenation of body text in the publication's language, with pyphen through reportlab.

reportlab adds a "-" where it hyphenates a word at the end of a line. Drawn as it is, that
hyphen would be text: copying, searching, pdftotext and read_back would find a hyphen the
source does not have. Each line's added hyphen is swapped for ``BREAK_HYPHEN`` after the
lines are broken: a stand-in (fixes.py) drawn with the hyphen's glyph and width whose ToUnicode
entry is the soft hyphen U+00AD, the character shown only where a line breaks, which read_back
drops where it is drawn. A hyphen of the source ("well-known" broken after its hyphen) is text
and stays one.

reportlab has no hook for the hyphen it adds; the classes it gives a split word's pieces
(``_SplitWordHY`` and the like) are the only record of which hyphen it added, so they are read here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pyphen
from reportlab.platypus import Flowable
from reportlab.platypus import paragraph as rl_paragraph

from briefkit.model import base_language
from exporters.pdf.fixes import BREAK_HYPHEN
from exporters.pdf.paragraphs import Paragraph, last_frag_word

# reportlab's marks on a word split by hyphenation: a head it added "-" to, and such a head
# that ends the first part of a paragraph split over two pages
_ADDED = (rl_paragraph._SplitWordHY, rl_paragraph._SplitWordLL)
_ADDED_TO_FRAGS = (rl_paragraph._SplitFragHY, rl_paragraph._SplitFragLL)


def hyphenator(language: str) -> Callable[[str], Iterator[tuple[str, str]]] | None:
    """pyphen's ways to split a word in ``language`` (a BCP 47 tag), longest head first, as
    reportlab's ParagraphStyle ``hyphenationLang`` takes them; None where pyphen has no dictionary."""
    found = pyphen.language_fallback(base_language(language))
    return pyphen.Pyphen(lang=found).iterate if found else None


class HyphenatedParagraph(Paragraph):
    """A Paragraph whose hyphens added at line ends are drawn as BREAK_HYPHEN."""

    _hyphenated = False  # the rest of a split paragraph whose lines hold hyphenated words

    def split(self, availWidth: float, availHeight: float) -> list[Flowable]:
        """paragraphs.Paragraph's split; when a word was hyphenated, both parts keep the lines
        already broken for them.

        Broken again from its words, as reportlab does, the first part would hyphenate a word over
        three lines or more anew, its added hyphen no longer marked as one; paragraphs.Paragraph
        leaves the rest of a hyphenated paragraph to be broken again, which costs time in the
        square of the paragraph's length, and hyphenation finds words to split in most paragraphs.
        """
        parts = super().split(availWidth, availHeight)
        bl_para = self.__dict__.get("blPara")
        if len(parts) != 2 or bl_para is None or self.style.wordWrap == "CJK":
            return parts
        first, rest = parts
        hyphenated = self._hyphenated or self.__dict__.get("_hyphenations")
        rest._hyphenated = bool(hyphenated)
        if not hyphenated:
            return parts  # broken again as reportlab breaks them (paragraphs.Paragraph)
        width = availWidth - self.style.leftIndent - self.style.rightIndent  # every line's but the first
        kept = len(first.blPara.lines)
        first._broken = ([width, width], bl_para.clone(lines=bl_para.lines[:kept]))
        if rest._broken is None:
            lines = bl_para.lines[kept:]
            if bl_para.kind == 1:  # they index the paragraph's frag words, of which the rest has those from its own
                lines = [line.clone(sFW=line.sFW - lines[0].sFW) for line in lines]
            rest._broken = ([width, width], bl_para.clone(lines=lines))
        return parts

    def breakLines(self, width: list[float]) -> object:
        # not only when this call hyphenated: the first part of a split paragraph ends with a head
        # hyphenated before, which reportlab gives its "-" again
        lines = super().breakLines(width)
        if lines.kind == 0:
            _mark_words(lines.lines)
        else:
            _mark_frags(lines.lines, self.frags)
        return lines


def _mark_words(lines: list[tuple[float, list[str]]]) -> None:
    """Lines of plain words (one font): a line's last word may be a head with an added hyphen."""
    for _, words in lines:
        if words and isinstance(words[-1], _ADDED) and words[-1].endswith("-"):
            words[-1] = type(words[-1])(words[-1][:-1] + BREAK_HYPHEN)  # the class: reportlab rejoins by it


def _mark_frags(lines: list[object], frag_words: list[object]) -> None:
    """Lines of styled fragments: a line's last frag word may be a head with an added hyphen."""
    for n, line in enumerate(lines):
        if not isinstance(last_frag_word(lines, n, frag_words), _ADDED_TO_FRAGS):
            continue
        text = next((f for f in reversed(line.words) if getattr(f, "text", "")), None)
        if text is not None and text.text.endswith("-"):
            text.text = text.text[:-1] + BREAK_HYPHEN
