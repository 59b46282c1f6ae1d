"""Markdown passage bodies to model blocks, with markdown-it-py.

Only the constructs the exporters support get through; anything else becomes a BK112
diagnostic naming the construct and its line, so the editor learns it at validation time
instead of seeing it vanish from one format.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from markdown_it import MarkdownIt
from markdown_it.token import Token
from mdit_py_plugins.deflist import deflist_plugin
from mdit_py_plugins.footnote import footnote_plugin

from briefkit.diagnostics import Diagnostic
from briefkit.model import (
    Block,
    BlockQuote,
    Code,
    Emph,
    Heading,
    Inline,
    Link,
    ListBlock,
    Paragraph,
    Strong,
    Text,
)

# CommonMark plus what editors type from habit (GitHub tables and strikethrough, footnotes,
# definition lists), parsed so that it is recognised and reported, never printed as text.
_MD = MarkdownIt("commonmark").enable(["table", "strikethrough"]).use(footnote_plugin).use(deflist_plugin)

# token type -> (construct named in the message, how to fix it)
_UNSUPPORTED: dict[str, tuple[str, str]] = {
    "html_block": ("raw HTML", "write it as Markdown text; escape a literal '<' as '\\<'"),
    "html_inline": ("raw HTML", "write it as Markdown text; escape a literal '<' as '\\<'"),
    "image": ("an image", "images are not supported yet; remove it or link to it instead"),
    "fence": ("a fenced code block", "use `inline code` in a paragraph instead"),
    "code_block": ("an indented code block", "remove the leading indentation, or use `inline code`"),
    "hr": ("a thematic break (---, ***)", "remove it; passages are separated automatically"),
    "hardbreak": ("a hard line break", "remove the trailing spaces or backslash at the end of the line"),
    "table_open": ("a table", "tables are not supported yet; write the rows as a list"),
    "s_open": ("strikethrough (~~...~~)", "remove the tildes: strikethrough is not supported"),
    "footnote_ref": ("a footnote reference ([^...])", "footnotes are not supported yet; name the source in the text"),
    "footnote_block_open": ("a footnote ([^...]: ...)", "footnotes are not supported yet; name the source in the text"),
    "dl_open": ("a definition list", "write it as a bullet list: '- **term**: definition'"),
}
# where in its lines a construct whose token has no markup of its own is written
_NEEDLES = {"table_open": "|", "footnote_block_open": "[^", "footnote_ref": "[^", "dl_open": ":"}
_LINK_SCHEMES = {"http", "https", "mailto"}


@dataclass
class _Ctx:
    file: Path
    first_line: int  # line of the body's first line in the file
    lines: list[str]
    diagnostics: list[Diagnostic] = field(default_factory=list)
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


def parse_body(body: str, file: Path, first_line: int) -> tuple[tuple[Block, ...], list[Diagnostic]]:
    """Parse a passage body; ``first_line`` is where the body starts in ``file`` (1-based)."""
    ctx = _Ctx(file, first_line, body.split("\n"))
    tokens = _MD.parse(body)
    blocks, _ = _blocks(tokens, 0, ctx, closing=None)
    return blocks, ctx.diagnostics


def _blocks(tokens: list[Token], i: int, ctx: _Ctx, closing: str | None) -> tuple[tuple[Block, ...], int]:
    """Read block tokens from ``i`` until the ``closing`` token type; return blocks and next index."""
    out: list[Block] = []
    while i < len(tokens):
        tok = tokens[i]
        if tok.type == closing:
            return tuple(out), i + 1
        if tok.type == "paragraph_open":
            out.append(Paragraph(_inlines(tokens[i + 1], ctx)))
            i += 3
        elif tok.type == "heading_open":
            level = int(tok.tag[1])
            if level in (2, 3):
                out.append(Heading(level, _inlines(tokens[i + 1], ctx)))
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
        if tok.type == "text":
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
            out.append(Link(href, kids))
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
