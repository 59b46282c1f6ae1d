"""Paragraphs that split cheaply and draw as content of their structure element: what every
part of the handout draws text with."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from reportlab.lib.styles import ParagraphStyle
from reportlab.platypus import Flowable
from reportlab.platypus import Paragraph as RLParagraph
from reportlab.platypus import paragraph as rl_paragraph

from exporters.pdf.tagging import Element, Tagged


class Paragraph(Tagged, RLParagraph):
    """A reportlab Paragraph drawn as content of ``tag``, whose split keeps the lines already broken for the rest."""

    # the widths the lines were last broken at, and the lines: the lines a split left over for
    # the rest (see split), or the last lines broken
    _broken: tuple[list[float], object] | None = None
    _measured: object = None  # a split's first part: the lines that were measured to fit the room
    _continues = False  # the first part of a split: its last line ends where the next part goes on

    def __init__(self, text: str, style: object, tag: Element | None = None, **kw: object) -> None:
        super().__init__(text, style, **kw)
        self.tag = tag

    def split(self, availWidth: float, availHeight: float) -> list[Flowable]:
        """reportlab's split, whose second part keeps the lines already broken for it.

        reportlab makes the rest of a split paragraph afresh, and breaking its lines again
        costs time in proportion to what is left: a paragraph over many pages cost time in
        the square of its length. Greedy line breaking from the start of a line gives the
        lines it gave before, so the rest takes them when it is broken at the same width,
        renumbered where they index the paragraph's words (sFW), unless a word was split
        for being wider than a line or hyphenated: reportlab breaks the pieces of those
        differently the second time.
        """
        parts = super().split(availWidth, availHeight)
        for part in parts:
            part.tag = self.tag  # a paragraph over pages is one element
        bl_para = self.__dict__.get("blPara")
        if len(parts) != 2 or bl_para is None:
            return parts
        first, rest = parts
        first._continues = True
        kept = len(first.blPara.lines)
        first._measured = bl_para.clone(lines=bl_para.lines[:kept])
        if not self._split_words() and self.style.wordWrap != "CJK":
            lines = bl_para.lines[kept:]
            if rl_paragraph._processed_frags(self.frags):
                lines = [line.clone(sFW=line.sFW - lines[0].sFW) for line in lines]
            width = availWidth - self.style.leftIndent - self.style.rightIndent  # every line's but the first
            rest._broken = ([width, width], bl_para.clone(lines=lines))
        return parts

    def breakLines(self, width: list[float]) -> object:
        # the same widths give the same lines: a table wraps each cell again to draw it, a
        # heading's room check wraps it before the frame does, and the frame wraps the rest of a
        # split paragraph again on the next page when the foot of this one had no room for a line
        if self._broken is not None and self._broken[0] == width:
            return self._broken[1]
        lines = lines_within(self, width)
        if self._measured is not None and len(lines.lines) > len(self._measured.lines):
            # broken again, a split word's pieces can make more lines than the room that was
            # measured (reportlab: "Splitting error"): the first part keeps the measured lines
            lines = self._measured
        if not self._split_words():  # reportlab breaks a split or hyphenated word differently the second time
            self._broken = (list(width), lines)
        return lines

    def draw(self) -> None:
        # tagged PDF marks word breaks with spaces (PDF 32000-1, 14.8.2.5), and reportlab draws no
        # space where it breaks a line: read through the structure tree, as a screen reader does,
        # "among" at a line's end and "European" at the next one's start were "amongEuropean"
        with _spaced_line_ends(self):
            super().draw()

    def _split_words(self) -> bool:
        return bool(self.__dict__.get("_splitLongWordCount") or self.__dict__.get("_hyphenations"))


def lines_within(paragraph: RLParagraph, width: list[float]) -> object:
    """reportlab's lines of ``paragraph`` at ``width``, none of them wider."""
    lines = RLParagraph.breakLines(paragraph, width)
    style = paragraph.style
    if _overflows(lines) and (style.uriWasteReduce or style.hyphenationLang or style.embeddedHyphenation):
        # reportlab never splits what is left of a word broken at a URL's separator or by
        # hyphenation, however long (breakLines: splitLongWords passes over a _SplitWord), and it
        # ran past the margin: broken again without those breaks, long words split to fit, in a
        # style the paragraph keeps, so that the parts of its split break alike
        paragraph.style = ParagraphStyle(
            f"{style.name} unsplit", style, uriWasteReduce=0, hyphenationLang="", embeddedHyphenation=0
        )
        lines = RLParagraph.breakLines(paragraph, width)
    return lines


def _overflows(lines: object) -> bool:
    """Whether a line is wider than its width: reportlab's lines are (room left, words) or objects."""
    return any((line[0] if isinstance(line, tuple) else line.extraSpace) < 0 for line in lines.lines)


@contextlib.contextmanager
def _spaced_line_ends(paragraph: Paragraph) -> Iterator[None]:
    """``paragraph``'s lines, while it draws, each with a space after a word it ends: not where a
    word goes on to the next line (split, hyphenated, a URL broken after a '/'), nor after the
    paragraph's last line. The space draws nothing, past the place reportlab measured the line to
    end, so nothing moves; an underline or link ends where it did."""
    bl_para = paragraph.blPara
    lines = bl_para.lines
    ends = range(len(lines) if paragraph._continues else len(lines) - 1)
    replaced: list[tuple[list[str], str]] = []  # plain lines: the words, and the last one as it was
    extended: list[list[object]] = []  # lines of styled fragments given a fragment of one space
    if bl_para.kind == 0:  # plain words, one font
        for n in ends:
            words = lines[n][1]
            if words and not _word_goes_on(words[-1]):
                replaced.append((words, words[-1]))
                words[-1] = words[-1] + " "
    elif rl_paragraph._processed_frags(paragraph.frags):
        for n in ends:
            last = last_frag_word(lines, n, paragraph.frags)
            text = next((f for f in reversed(lines[n].words) if not hasattr(f, "cbDefn")), None)
            if last is not None and text is not None and not _frag_goes_on(last):
                extended.append(lines[n].words)
                lines[n].words.append(text.clone(text=" ", us_lines=[], link=[], backColor=None))
    try:
        yield
    finally:
        for words, last in replaced:
            words[-1] = last
        for words in extended:
            words.pop()


def last_frag_word(lines: list[object], n: int, frag_words: list[object]) -> object | None:
    """The last frag word of line ``n`` of styled fragments, none reportlab injected: line n holds
    the paragraph's frag words from its ``sFW`` to the next line's."""
    end = lines[n + 1].sFW if n + 1 < len(lines) else len(frag_words)
    return next((w for w in reversed(frag_words[lines[n].sFW : end]) if not _injected(w)), None)


def _word_goes_on(word: str) -> bool:
    """Whether a line's last word is the head of a word split over two lines (reportlab's marks)."""
    if isinstance(word, rl_paragraph._SplitWordLL):  # hyphenated at the end of a split's first part
        return True
    return isinstance(word, rl_paragraph._SplitWord) and not isinstance(word, rl_paragraph._SplitWordEnd)


def _frag_goes_on(frag_word: object) -> bool:
    """The same for a word of styled fragments: a split one, unless a space follows it."""
    if isinstance(frag_word, rl_paragraph._SplitFragLL):  # "-" added at a split's end: the word goes on
        return True
    return isinstance(frag_word, rl_paragraph._SplitFrag) and not isinstance(frag_word, rl_paragraph._HSFrag)


def _injected(word: object) -> bool:
    """Whether a frag word is one reportlab adds while breaking lines, not the text's."""
    return isinstance(word, rl_paragraph._InjectedFrag)
