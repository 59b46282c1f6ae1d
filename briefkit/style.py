"""Editorial warnings on a passage: long sentences, repeated words, doubled spaces, glyphs.

These never stop a build (unless --strict); they point an editor at a line and column in
the source file.
"""

from __future__ import annotations

import re
import unicodedata

from briefkit.diagnostics import Diagnostic
from briefkit.model import Passage, block_texts, words
from briefkit.settings import Settings

_DOUBLE_SPACE = re.compile(r"(?<=\S) {2,}(?=\S)")
_REPEATED = re.compile(r"\b(\w+)\s+(\1)\b", re.IGNORECASE)
_SENTENCE = re.compile(r"[^.!?\n]+(?:\n(?!\n)[^.!?\n]*)*[.!?]*")
_DELIMITER_ROW = re.compile(r"^ *\|? *:?-+:? *(\| *:?-+:? *)*\|? *$")  # |:--|--:| under a table's header
_CELL_EDGE = re.compile(r" *\| *")


def _position(text: str, offset: int, first_line: int) -> tuple[int, int]:
    line = text.count("\n", 0, offset)
    column = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return first_line + line, column


def _cells_apart(body: str) -> str:
    """``body`` with each table's cell borders (pipes and the padding around them) turned into
    full stops of the same length: each cell is a sentence of its own, and aligned columns are
    no doubled spaces."""
    blocks = re.split(r"(\n\s*\n)", body)  # paragraphs and the blank lines between them
    for n, block in enumerate(blocks):
        lines = block.split("\n")
        if len(lines) > 1 and "|" in lines[0] and _DELIMITER_ROW.match(lines[1]):
            blocks[n] = _CELL_EDGE.sub(lambda m: "." * len(m.group()), block)
    return "".join(blocks)


def check_passage(passage: Passage, body: str, settings: Settings, drawable: frozenset[int] | None) -> list[Diagnostic]:
    """Warnings for one passage; ``body`` is the raw Markdown below the front matter."""
    file, first = passage.file, passage.body_line
    out: list[Diagnostic] = []

    def warn(code: str, offset: int, message: str, hint: str) -> None:
        out.append(Diagnostic(code, file, message, hint, *_position(body, offset, first)))

    if not passage.summary:
        out.append(
            Diagnostic(
                "BK205", file, "passage has no summary", "add a one-sentence 'summary:' to the front matter", 1, 1
            )
        )
    if passage.provisional_title:
        out.append(Diagnostic(
            "BK206", file, f"title '{passage.title}' was derived by import and needs an editor",
            "write a real title, then delete the line 'provisional_title: true'", 1, 1,
        ))  # fmt: skip
    text = _cells_apart(body)
    for m in _DOUBLE_SPACE.finditer(text):
        warn("BK204", m.start(), "doubled space", "use a single space between words")
    for m in _REPEATED.finditer(text):
        warn("BK203", m.start(2), f"repeated word '{m.group(1)} {m.group(2)}'", f"delete one '{m.group(2)}'")
    for m in _SENTENCE.finditer(text):
        count = len(words(m.group()))
        if count > settings.max_sentence_words:
            start = m.start() + len(m.group()) - len(m.group().lstrip())
            warn(
                "BK201",
                start,
                f"sentence of {count} words (over {settings.max_sentence_words})",
                "split it into shorter sentences",
            )
    total = sum(len(words(t)) for t in block_texts(passage.blocks))
    if total > settings.max_passage_words:
        out.append(Diagnostic(
            "BK202", file, f"passage of {total} words (over {settings.max_passage_words})",
            "split it into two passages", first, 1,
        ))  # fmt: skip
    if drawable is not None:
        out.extend(_undrawable(passage, body, drawable))
    return out


def _undrawable(passage: Passage, body: str, drawable: frozenset[int]) -> list[Diagnostic]:
    """Characters the PDF font lacks, in the body or the title and summary: one warning per
    line that has any, naming each character once per passage, so a passage in a script the
    font lacks gets a few warnings, not one per letter."""
    out: list[Diagnostic] = []
    seen: set[str] = set()
    for text, first_line in ((passage.title + "\n" + passage.summary, 1), (body, passage.body_line)):
        # the set of distinct characters first: nearly always all drawable, and cheap to test
        # control characters are errors of their own (BK104)
        missing = {
            ch for ch in set(text) if ord(ch) not in drawable and not ch.isspace() and unicodedata.category(ch) != "Cc"
        } - seen
        if not missing:
            continue
        lines: dict[int, tuple[int, list[str]]] = {}  # line -> (column of the first, characters)
        for offset, ch in enumerate(text):
            if ch not in missing or ch in seen:
                continue
            seen.add(ch)
            line, column = _position(text, offset, first_line) if first_line > 1 else (1, 1)
            lines.setdefault(line, (column, []))[1].append(ch)
        for line, (column, chars) in lines.items():
            out.append(Diagnostic(
                "BK207", passage.file, f"the PDF font cannot draw {_named(chars)} in passage '{passage.id}'",
                "replace the characters, or choose a theme font that has them (theme: font:)", line, column,
            ))  # fmt: skip
    return out


def _named(chars: list[str], most: int = 8) -> str:
    named = ", ".join(f"U+{ord(ch):04X} '{ch}'" for ch in chars[:most])
    return named + (f" and {len(chars) - most} more" if len(chars) > most else "")
