"""Hypothesis strategies: arbitrary publications that pass validation, and hostile input that must not."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from hypothesis import HealthCheck
from hypothesis import strategies as st

from briefkit.loader import NONCHARACTERS
from briefkit.markdown import ROW_CHARS
from briefkit.model import (
    ALIGNS,
    Block,
    BlockQuote,
    Code,
    Emph,
    Footnote,
    Heading,
    Inline,
    Link,
    ListBlock,
    NoteRef,
    Paragraph,
    Passage,
    Publication,
    Strong,
    Table,
    Text,
    inline_text,
    numbered,
    squash,
)

# Any character validation lets through: all of Unicode but controls, surrogates and
# non-characters. Markup characters and long words are mixed in on purpose.
_chars = st.characters(
    codec="utf-8",
    exclude_categories=("Cc", "Cs"),
    exclude_characters="".join(map(chr, sorted(NONCHARACTERS))),
)
_markup = st.sampled_from(["<", ">", "&", '"', "'", "&amp;", "<b>", "</i>", "]]>", "\\", "%", "{", "}"])
_long_word = st.text(st.sampled_from("abcdefghijklmnopqrstuvwxyz"), min_size=60, max_size=200)
_piece = st.one_of(st.text(_chars, min_size=1, max_size=30), _markup, _long_word)
text = st.lists(_piece, min_size=1, max_size=8).map(" ".join).filter(lambda s: squash(s) != "")


# Health checks that the generation of these nested, long-worded publications trips now and
# then; the exporters are what the property tests test, so every one of them suppresses these.
GENERATION_CHECKS = [HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large]


def _inline(depth: int = 2) -> st.SearchStrategy[Inline]:
    leaf = st.one_of(text.map(Text), text.map(Code))
    if depth == 0:
        return leaf
    kids = st.lists(_inline(depth - 1), min_size=1, max_size=3).map(tuple)
    return st.one_of(
        leaf,
        kids.map(Emph),
        kids.map(Strong),
        st.builds(Link, st.sampled_from(["https://example.org/a?b=1&c=2", "mailto:a@example.org"]), kids),
    )


inlines = st.lists(_inline(), min_size=1, max_size=4).map(tuple)


@st.composite
def tables(draw: st.DrawFn) -> Table:
    """A table of 1-4 columns and 0-4 rows whose cells validation lets through; a cell may be
    empty, as in Markdown."""
    columns = draw(st.integers(1, 4))
    cell = st.one_of(st.just(()), inlines.filter(lambda c: len(inline_text(c)) <= ROW_CHARS // columns))
    row = st.lists(cell, min_size=columns, max_size=columns).map(tuple)
    return Table(
        header=draw(row),
        rows=tuple(draw(st.lists(row, max_size=4))),
        aligns=tuple(draw(st.lists(st.sampled_from(ALIGNS), min_size=columns, max_size=columns))),
        caption=draw(st.one_of(st.just(()), inlines)),
    )


def _block(depth: int = 1) -> st.SearchStrategy[Block]:
    leaf = st.one_of(inlines.map(Paragraph), st.builds(Heading, st.sampled_from([2, 3]), inlines), tables())
    if depth == 0:
        return leaf
    items = st.lists(st.lists(_block(depth - 1), min_size=1, max_size=2).map(tuple), min_size=1, max_size=3).map(tuple)
    return st.one_of(
        leaf,
        st.builds(ListBlock, st.booleans(), st.integers(1, 20), items),
        st.lists(_block(depth - 1), min_size=1, max_size=2).map(tuple).map(BlockQuote),
    )


@st.composite
def passages(draw: st.DrawFn, index: int) -> Passage:
    """A passage whose footnotes (numbered from 1, as the parser numbers them) are referenced,
    some twice, from a paragraph and a table cell after its other blocks."""
    notes = tuple(Footnote(n, draw(inlines)) for n in range(1, draw(st.integers(0, 3)) + 1))
    refs = [r for note in notes for r in (Text(" see"), NoteRef(note.number))]
    cited: tuple[Block, ...] = ()
    if notes:
        again = NoteRef(draw(st.sampled_from(notes)).number)
        cited = (Paragraph((*draw(inlines), *refs)), Table(((Text("cell"), again),), (), ("",)))
    return Passage(
        id=f"passage-{index}",
        title=draw(text),
        summary=draw(st.one_of(st.just(""), text)),
        tags=tuple(draw(st.lists(st.sampled_from(["nato", "europe", "ceasefire"]), max_size=2, unique=True))),
        blocks=tuple(draw(st.lists(_block(), min_size=1, max_size=4))) + cited,
        file=Path(f"passages/{index:03d}.md"),
        body_line=5,
        notes=notes,
    )


@st.composite
def publications(draw: st.DrawFn, max_passages: int = 3) -> Publication:
    count = draw(st.integers(1, max_passages))
    return Publication(
        id="generated",
        title=draw(text),
        subtitle=draw(st.one_of(st.just(""), text)),
        language=draw(st.sampled_from(["en", "uk", "el", "en-GB"])),
        organisation=draw(st.one_of(st.just(""), text)),
        authors=tuple(draw(st.lists(text, max_size=2))),
        edition=draw(st.dates(dt.date(2000, 1, 1), dt.date(2099, 12, 31))),
        classification=draw(st.sampled_from(["", "OFFICIAL", "OFFICIAL-SENSITIVE & <draft>"])),
        description=draw(st.one_of(st.just(""), text)),
        passages=numbered(tuple(draw(passages(i)) for i in range(count))),
        source_dir=Path("generated"),
        content_hash="0" * 64,
    )


# ---- hostile input: what an attacker writes into the sources -------------------------------

# Characters that have broken something somewhere: line breaks of every kind, bidi controls and
# marks, zero-width and tag characters, controls, non-characters, YAML and markup syntax.
_nasty = st.sampled_from(
    list("\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029\x00\x07\x1b\x7f\x9b\ufffe\uffff\ufdd0")
    + list("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c\u200b\u200c\u200d\u2060\ufeff")
    + ["\U000e0041", "\U000e007f", "\u00ad", "\u0600"]
    + list(":#&*!|>'\"%@`{}[],?-=<\\\t ")
)
_special = st.sampled_from([
    "=?utf-8?q?brief=0D=0AReply-To:_attacker@evil.example?=", "=?UTF-8?B?SGVsbG8=?=", "=?iso-8859-1?Q?a?=",
    "=?utf-8*en?q?x", "null", "~", "yes", "No", "0x1F", "1e999", ".nan", "2025-02-30", "2025-03-01", "12:30:00",
    "- item", "key: value", "[unclosed", "{a: 1}", "&anchor", "*alias", "!!binary aGk=", "!!set {a}",
    "!!python/object/apply:os.system ['true']", "!!timestamp 2025-03-01", "---", "...", "# comment", "|", ">-",
    "=", "<<", "<b>bold</b>", "&amp;", "]]>", "%s", "{x}", "\\", "",
])  # fmt: skip
_long = st.builds(lambda s, n: (s or "x") * n, st.text(max_size=3), st.integers(50, 1500))
hostile_text = st.one_of(
    st.text(st.one_of(st.characters(codec="utf-8"), _nasty), max_size=40),
    _special,
    _long,
    st.lists(st.one_of(_special, st.text(_nasty, max_size=4), st.text(max_size=10)), max_size=5).map("".join),
)
# Names a file may have on Linux: anything but "/" and NUL, at most 255 bytes.
hostile_file_names = (
    st.text(st.characters(codec="utf-8", exclude_characters="/\x00"), min_size=1, max_size=60)
    .map(lambda s: s + ".md")
    .filter(lambda s: len(s.encode()) <= 255)
)
hostile_paths = st.one_of(
    st.sampled_from(
        [
            "../outside.png",
            "../../../../etc/passwd",
            "/etc/passwd",
            "/dev/zero",
            "/dev/stdin",
            "passages",
            ".",
            "passages/../../outside.png",
            "passages/010-first.md",
            "logo.png",
            "\x00",
            "a" * 5000,
        ]
    ),
    hostile_text,
)
