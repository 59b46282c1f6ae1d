"""Markdown passage bodies to model blocks, with markdown-it-py.

Only the constructs the exporters support get through; anything else becomes a BK112
diagnostic naming the construct and its line, so the editor learns it at validation time
instead of seeing it vanish from one format. Footnotes and figures are numbered from 1 in
each passage; ``model.numbered`` numbers them on through the publication. Typography (quotes,
dashes, ellipses) is set here, in the model, so that every format and its read-back agree.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit

from markdown_it import MarkdownIt
from markdown_it.rules_core.replacements import replace_rare
from markdown_it.rules_core.smartquotes import smartquotes
from markdown_it.rules_core.state_core import StateCore
from markdown_it.token import Token
from mdit_py_plugins.deflist import deflist_plugin
from mdit_py_plugins.footnote import footnote_plugin

from briefkit.diagnostics import Diagnostic
from briefkit.model import (
    Block,
    BlockQuote,
    Code,
    Emph,
    Figure,
    Footnote,
    Heading,
    Inline,
    Link,
    ListBlock,
    NoteRef,
    Paragraph,
    Strong,
    Table,
    Text,
    inline_text,
)

# A bare URL in the text: kept as typed, its dashes and quotes are part of the address.
_BARE_URL = re.compile(r"(?:https?://|mailto:|www\.)[^\s<>]*[^\s<>.,;:!?)\]'\"]")
URL_TOKEN = "bare_url"  # a text token the typographer leaves alone


def _bare_urls(state: StateCore) -> None:
    """Split the bare URLs out of text tokens, so the typographer passes over them."""
    for inline in state.tokens:
        if inline.type != "inline" or not inline.children or not _BARE_URL.search(inline.content):
            continue
        kids: list[Token] = []
        for token in inline.children:
            if token.type != "text" or not _BARE_URL.search(token.content):
                kids.append(token)
                continue
            at = 0
            for url in _BARE_URL.finditer(token.content):
                kids.append(Token("text", "", 0, content=token.content[at : url.start()], level=token.level))
                kids.append(Token(URL_TOKEN, "", 0, content=url.group(), level=token.level))
                at = url.end()
            kids.append(Token("text", "", 0, content=token.content[at:], level=token.level))
        inline.children = kids


def _dashes(state: StateCore) -> None:
    """markdown-it's replacements but (c), (tm), (r): "(a) (b) (c)" is a list, not a copyright."""
    if state.md.options.typographer:
        for token in state.tokens:
            if token.type == "inline" and token.children:
                replace_rare(token.children)


def _parser(smart: bool) -> MarkdownIt:
    """CommonMark plus what editors type from habit (GitHub tables and strikethrough,
    footnotes, definition lists): what the exporters lack is recognised and reported, never
    printed as text. Footnote definitions stay where they are written, so each is reported on
    its own line. ``smart``: typographic quotes, dashes and ellipses, as pandoc's ``smart``."""
    md = (
        MarkdownIt("commonmark", {"typographer": smart})
        .enable(["table", "strikethrough"])
        .use(footnote_plugin, move_to_end=False, always_match_refs=True)
        .use(deflist_plugin)
    )
    if smart:
        md.enable("smartquotes")
        md.core.ruler.before("smartquotes", "dashes", _dashes)
        md.core.ruler.before("dashes", "bare_urls", _bare_urls)
    return md


PARSER = _parser(smart=False)
SMART_PARSER = _parser(smart=True)
CAPTION_PREFIX = "Table:"  # a paragraph right after a table that starts so is its caption
# A table row must fit on a PDF page under the header row repeated there: at most so many
# columns, and so many characters a row, shared by its cells (measured with the widest
# letters, a row of ten 80-character cells takes 280 points of a Letter page's 667).
MAX_COLUMNS = 10
ROW_CHARS = 800
DECORATIVE = "decorative"  # the title that lets an image have empty alt text
# A figure's source -> its resolved path and pixel size, or why it cannot be used
FigureFile = Callable[[str], "tuple[Path, int, int] | Diagnostic"]

# token type -> (construct named in the message, how to fix it)
_UNSUPPORTED: dict[str, tuple[str, str]] = {
    "html_block": ("raw HTML", "write it as Markdown text; escape a literal '<' as '\\<'"),
    "html_inline": ("raw HTML", "write it as Markdown text; escape a literal '<' as '\\<'"),
    "image": ("an image inside a paragraph", "put the image on a line of its own, with blank lines around it"),
    "fence": ("a fenced code block", "use `inline code` in a paragraph instead"),
    "code_block": ("an indented code block", "remove the leading indentation, or use `inline code`"),
    "hr": ("a thematic break (---, ***)", "remove it; passages are separated automatically"),
    "hardbreak": ("a hard line break", "remove the trailing spaces or backslash at the end of the line"),
    "s_open": ("strikethrough (~~...~~)", "remove the tildes: strikethrough is not supported"),
    "footnote_ref": ("an inline footnote (^[...])", "write a reference [^id] and the note '[^id]: ...' below"),
    "dl_open": ("a definition list", "write it as a bullet list: '- **term**: definition'"),
}
# where in its lines a construct whose token has no markup of its own is written
_NEEDLES = {"footnote_ref": "^[", "dl_open": ":"}
_LINK_SCHEMES = {"http", "https", "mailto"}


@dataclass
class _Ctx:
    file: Path
    first_line: int  # line of the body's first line in the file
    lines: list[str]
    figure_file: FigureFile | None
    diagnostics: list[Diagnostic] = field(default_factory=list)
    refs: dict[str, int] = field(default_factory=dict)  # footnote label -> number, in order of first reference
    ref_lines: dict[str, list[int] | None] = field(default_factory=dict)  # where each label is first referenced
    notes: dict[str, tuple[Inline, ...]] = field(default_factory=dict)  # footnote label -> its text
    note_lines: dict[str, list[int] | None] = field(default_factory=dict)
    refused_notes: set[str] = field(default_factory=set)  # defined, but reported: not also "not defined"
    in_note: bool = False  # parsing a footnote's text
    figures: int = 0
    # (line, needle) -> where the next search on that line starts, so that the same
    # construct twice on a line is reported at each of its columns
    searched: dict[tuple[int, str], int] = field(default_factory=dict)

    def report(self, code: str, token_map: list[int] | None, needle: str, message: str, hint: str) -> None:
        """Report at the first line of ``token_map`` holding ``needle`` (column 0 if none)."""
        offset = token_map[0] if token_map else 0
        line, column = offset, 0
        end = token_map[1] if token_map else len(self.lines)
        for i in range(offset, min(end, len(self.lines))):
            col = self.lines[i].find(needle, self.searched.get((i, needle), 0)) if needle else -1
            if col >= 0:
                line, column = i, col + 1
                self.searched[(i, needle)] = col + len(needle)
                break
        self.report_at(code, line, column, message, hint)

    def report_at(self, code: str, line: int, column: int, message: str, hint: str) -> None:
        """Report at ``line`` (0-based, of the body) and ``column`` (1-based)."""
        self.diagnostics.append(Diagnostic(code, self.file, message, hint, line=self.first_line + line, column=column))


@dataclass(frozen=True)
class Body:
    blocks: tuple[Block, ...]
    notes: tuple[Footnote, ...]
    diagnostics: list[Diagnostic]


def parse_body(
    body: str, file: Path, first_line: int, figure_file: FigureFile | None = None, smart: bool = False
) -> Body:
    """Parse a passage body; ``first_line`` is where the body starts in ``file`` (1-based).
    Without ``figure_file`` (which reads the images), an image is reported as unsupported.
    ``smart`` sets typographic quotes and dashes; otherwise the text stays as typed."""
    ctx = _Ctx(file, first_line, body.split("\n"), figure_file)
    tokens = (SMART_PARSER if smart else PARSER).parse(body)
    blocks, _ = _blocks(tokens, 0, ctx, closing=None)
    for label in ctx.refs:
        if label not in ctx.notes and label not in ctx.refused_notes:
            ctx.report(
                "BK128", ctx.ref_lines[label], f"[^{label}]", f"footnote [^{label}] is referenced but not defined",
                f"add a line '[^{label}]: the note' below the paragraph, or remove the reference",
            )  # fmt: skip
    for label in ctx.notes:
        if label not in ctx.refs:
            ctx.report(
                "BK129", ctx.note_lines[label], f"[^{label}]", f"footnote [^{label}] is defined but never referenced",
                f"reference it as [^{label}] in the text, or remove the note",
            )  # fmt: skip
    notes = tuple(Footnote(n, ctx.notes[label]) for label, n in ctx.refs.items() if label in ctx.notes)
    return Body(blocks, notes, ctx.diagnostics)


def _blocks(tokens: list[Token], i: int, ctx: _Ctx, closing: str | None) -> tuple[tuple[Block, ...], int]:
    """Read block tokens from ``i`` until the ``closing`` token type; return blocks and next index."""
    out: list[Block] = []
    while i < len(tokens):
        tok = tokens[i]
        if tok.type == closing:
            return tuple(out), i + 1
        if tok.type == "paragraph_open" and not ctx.in_note and (image := _lone_image(tokens[i + 1])) is not None:
            if (figure := _figure(image, tokens[i + 1], ctx)) is not None:
                out.append(figure)
            i += 3
        elif tok.type == "paragraph_open":
            out.append(Paragraph(_inlines(tokens[i + 1], ctx)))
            i += 3
        elif tok.type == "table_open":
            table, i = _table(tokens, i, ctx)
            out.append(table)
        elif tok.type == "footnote_reference_open":
            i = _note(tokens, i, ctx)
        elif tok.type == "heading_open":
            level = int(tok.tag[1])
            if level in (2, 3):
                out.append(Heading(level, _inlines(tokens[i + 1], ctx)))
                if not inline_text(out[-1].children).strip():  # nothing for a contents entry or a screen reader
                    hint = "give the heading its words, or remove the line"
                    ctx.report("BK112", tok.map, "#", "unsupported Markdown: a heading with no text", hint)
            else:
                hint = "the passage title is level 1; use ## or ### inside a passage"
                ctx.report("BK112", tok.map, "#", f"unsupported Markdown: a level-{level} heading", hint)
            i += 3
        elif tok.type in ("bullet_list_open", "ordered_list_open"):
            ordered = tok.type == "ordered_list_open"
            start = int(tok.attrGet("start") or 1) if ordered else 1
            items: list[tuple[Block, ...]] = []
            i += 1
            close = tok.type.replace("_open", "_close")
            while tokens[i].type != close:  # list_item_open
                item, i = _blocks(tokens, i + 1, ctx, "list_item_close")
                items.append(item)
            out.append(ListBlock(ordered, start, tuple(items)))
            i += 1
        elif tok.type == "blockquote_open":
            kids, i = _blocks(tokens, i + 1, ctx, "blockquote_close")
            out.append(BlockQuote(kids))
        else:
            what, hint = _UNSUPPORTED.get(tok.type, (f"'{tok.type}'", "remove it"))
            end = _after(tokens, i)
            where = next((t.map for t in tokens[i:end] if t.map), None)
            needle = _NEEDLES.get(tok.type) or tok.markup or tok.content.strip()[:1]
            ctx.report("BK112", where, needle, f"unsupported Markdown: {what}", hint)
            i = end
    return tuple(out), i


def _table(tokens: list[Token], i: int, ctx: _Ctx) -> tuple[Table, int]:
    """The table opening at ``i``, with the caption paragraph right after it; the next index."""
    end = _after(tokens, i)
    caption: tuple[Inline, ...] = ()
    # the caption first: it is read before the cells, so its footnotes are numbered first
    if end + 2 < len(tokens) and tokens[end].type == "paragraph_open":
        kids = tokens[end + 1].children or []
        if kids and kids[0].type == "text" and kids[0].content.startswith(CAPTION_PREFIX):
            kids[0].content = kids[0].content.removeprefix(CAPTION_PREFIX).lstrip()
            caption = _inlines(tokens[end + 1], ctx)
            end += 3
    rows: list[tuple[tuple[Inline, ...], ...]] = []
    aligns: list[str] = []
    maps: list[list[int] | None] = []  # each row's line
    for j in range(i, end):
        if tokens[j].type == "tr_open":
            rows.append(())
            maps.append(tokens[j].map)
        elif tokens[j].type in ("th_open", "td_open"):
            rows[-1] += (_inlines(tokens[j + 1], ctx),)
            if len(rows) == 1:
                style = str(tokens[j].attrGet("style") or "")
                aligns.append(style.removeprefix("text-align:"))
    _check_size(rows, maps, ctx)
    return Table(rows[0], tuple(rows[1:]), tuple(aligns), caption), end


def _check_size(rows: list[tuple[tuple[Inline, ...], ...]], maps: list[list[int] | None], ctx: _Ctx) -> None:
    """Report a table whose rows would not fit on a page beside the header row repeated there."""
    columns = len(rows[0])
    if columns > MAX_COLUMNS:
        hint = "split the table in two, or turn it round so that its columns become rows"
        ctx.report("BK133", maps[0], "|", f"a table of {columns} columns, over the limit of {MAX_COLUMNS}", hint)
        return
    most = ROW_CHARS // columns
    for row, where in zip(rows, maps, strict=True):
        if (longest := max(len(inline_text(cell)) for cell in row)) > most:
            ctx.report(
                "BK133", where, "|", f"a table cell of {longest:,} characters, over the limit of {most:,} for {columns} columns",
                "keep cells to figures and short phrases; put longer text in a paragraph or a footnote",
            )  # fmt: skip


def _note(tokens: list[Token], i: int, ctx: _Ctx) -> int:
    """Read the footnote definition opening at ``i``; return the index after it."""
    label, where = str(tokens[i].meta["label"]), tokens[i].map
    ctx.in_note = True
    kids, end = _blocks(tokens, i + 1, ctx, "footnote_reference_close")
    ctx.in_note = False
    if label in ctx.notes:
        ctx.report(
            "BK130", where, f"[^{label}]", f"footnote [^{label}] is defined twice",
            "give each note its own id, or remove one of them",
        )  # fmt: skip
    elif len(kids) != 1 or not isinstance(kids[0], Paragraph):
        what = "a footnote that is not one paragraph"
        ctx.refused_notes.add(label)
        ctx.report("BK112", where, f"[^{label}]", f"unsupported Markdown: {what}", "keep each note to one paragraph")
    else:
        ctx.notes[label], ctx.note_lines[label] = kids[0].children, where
    return end


def _lone_image(inline: Token) -> Token | None:
    """The image token of a paragraph that holds an image and nothing else."""
    kids = [t for t in inline.children or [] if not (t.type == "text" and not t.content.strip())]
    return kids[0] if len(kids) == 1 and kids[0].type == "image" else None


def _figure(image: Token, inline: Token, ctx: _Ctx) -> Figure | None:
    # markdown-it percent-encodes the path as a URL; the file is named as the editor wrote it
    src, title = unquote(str(image.attrGet("src") or "")), str(image.attrGet("title") or "")
    # the alt text as plain text, as HTML has it
    alt = " ".join("".join(t.content for t in image.children or [] if t.type in ("text", "code_inline")).split())
    if ctx.figure_file is None:
        ctx.report("BK112", inline.map, "![", "unsupported Markdown: an image", "images need a publication directory")
        return None
    if not alt and title.strip().lower() != DECORATIVE:
        ctx.report(
            "BK131", inline.map, "![", f"image '{src}' has no alt text",
            f"describe the image for readers who cannot see it: ![what it shows]({src}); "
            f'an image that only decorates may have none with the title "{DECORATIVE}"',
        )  # fmt: skip
        return None
    found = ctx.figure_file(src)
    if isinstance(found, Diagnostic):
        ctx.report(found.code, inline.map, "![", f"image '{src}': {found.message}", found.hint)
        return None
    path, width, height = found
    ctx.figures += 1
    caption = () if title.strip().lower() == DECORATIVE else ((Text(title),) if title.strip() else ())
    return Figure(path, alt, caption, ctx.figures, width, height)


def _after(tokens: list[Token], i: int) -> int:
    """The index after the token at ``i`` and, when it opens a block, everything inside it."""
    depth = 0
    for j in range(i, len(tokens)):
        depth += tokens[j].nesting
        if depth <= 0:
            return j + 1
    return len(tokens)


def _inlines(inline: Token, ctx: _Ctx) -> tuple[Inline, ...]:
    tokens = inline.children or []
    kids, _ = _inline_run(tokens, 0, _token_lines(inline, tokens), ctx, closing=None)
    return kids


def _token_lines(inline: Token, tokens: list[Token]) -> list[list[int] | None]:
    """A one-line map for each of the inline ``tokens`` of ``inline``. Inline tokens carry
    no map of their own; each line break inside the paragraph is a token, so counting them
    finds it."""
    if not inline.map:
        return [None] * len(tokens)
    line, lines = inline.map[0], []
    for token in tokens:
        lines.append([line, line + 1])
        line += token.type in ("softbreak", "hardbreak")
    return lines


def _inline_run(
    tokens: list[Token], i: int, lines: list[list[int] | None], ctx: _Ctx, closing: str | None
) -> tuple[tuple[Inline, ...], int]:
    out: list[Inline] = []

    def add_text(text: str) -> None:
        if out and isinstance(out[-1], Text):
            out[-1] = Text(out[-1].text + text)
        elif text:
            out.append(Text(text))

    while i < len(tokens):
        tok = tokens[i]
        i += 1
        if tok.type == closing:
            break
        if tok.type in ("text", URL_TOKEN):
            add_text(tok.content)
        elif tok.type == "softbreak":
            add_text(" ")
        elif tok.type == "code_inline":
            out.append(Code(tok.content))
        elif tok.type in ("em_open", "strong_open"):
            kids, i = _inline_run(tokens, i, lines, ctx, tok.type.replace("_open", "_close"))
            out.append(Emph(kids) if tok.type == "em_open" else Strong(kids))
        elif tok.type == "link_open":
            href = str(tok.attrGet("href") or "")
            kids, i = _inline_run(tokens, i, lines, ctx, "link_close")
            if urlsplit(href).scheme.lower() not in _LINK_SCHEMES:
                ctx.report(
                    "BK113",
                    lines[i - 1],  # the link's end, where its target is written
                    href[:20],
                    f"link target '{href}' is not an http(s) or mailto address",
                    "link to a full https://... or mailto: address, or remove the link",
                )
            if not inline_text(kids).strip():  # a screen reader would announce the link with nothing to say
                hint = "write the words the link leads to, e.g. [the tracker](https://example.org)"
                ctx.report("BK112", lines[i - 1], "[", "unsupported Markdown: a link with no text", hint)
            out.append(Link(href, kids))
        elif tok.type == "footnote_ref" and "label" in tok.meta and not ctx.in_note:
            label = str(tok.meta["label"])
            if label not in ctx.refs:
                ctx.refs[label], ctx.ref_lines[label] = len(ctx.refs) + 1, lines[i - 1]
            out.append(NoteRef(ctx.refs[label]))
        elif tok.type == "footnote_ref" and ctx.in_note:
            hint = "name the source in the note's own text"
            ctx.report(
                "BK112", lines[i - 1], "[^", "unsupported Markdown: a footnote reference inside a footnote", hint
            )
        elif tok.nesting == -1:  # the end of an unsupported construct, reported at its start
            continue
        else:
            what, hint = _UNSUPPORTED.get(tok.type, (f"'{tok.type}'", "remove it"))
            where = lines[i - 1]
            if tok.type == "hardbreak" and where and where[0] < len(ctx.lines):
                column = len(ctx.lines[where[0]].rstrip(" \\")) + 1  # where the spaces or backslash begin
                ctx.report_at("BK112", where[0], column, f"unsupported Markdown: {what}", hint)
            else:
                needle = _NEEDLES.get(tok.type) or tok.content[:10] or tok.markup
                ctx.report("BK112", where, needle, f"unsupported Markdown: {what}", hint)
    return tuple(out), i


def smarten(text: str) -> str:
    """Plain ``text`` (a title, a summary: not Markdown) with the typographer's quotes and dashes."""
    inline = Token("inline", "", 0, content=text, children=[Token("text", "", 0, content=text)])
    state = StateCore(text, SMART_PARSER, {})
    state.tokens = [inline]
    for rule in (_bare_urls, _dashes, smartquotes):
        rule(state)
    return "".join(token.content for token in inline.children or [])
