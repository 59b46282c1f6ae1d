"""Turning a Word document into passages: headings split it, the body becomes Markdown.

The highest heading level the document uses starts a passage and gives its title; lower
headings become ``##``/``###``; paragraphs, bullet and numbered lists, bold, italic, links
and tables are kept. Text before the first heading becomes a passage with a provisional
title. Every text is escaped, so it reads back exactly as it was written in Word.
"""

from __future__ import annotations

import re
from pathlib import Path

from docx.document import Document
from docx.table import Table
from docx.text.hyperlink import Hyperlink
from docx.text.paragraph import Paragraph
from docx.text.run import Run

from briefkit.importer import ImportedPassage, escape_block_start, escape_inline, provisional_title, unique_ids
from briefkit.loader import read_docx

# A document with its images: python-docx holds every part in memory, so the inflated size is bounded too.
IMPORT_MAX_BYTES = 100 * 1024 * 1024
IMPORT_MAX_UNPACKED = 256 * 1024 * 1024
_HEADING = re.compile(r"^heading ([1-9])$")
_NUMBERED = ("decimal", "lowerLetter", "upperLetter", "lowerRoman", "upperRoman")


def document_title(document: Document) -> str:
    """The core properties' title, else the first paragraph in the Title style."""
    if title := (document.core_properties.title or "").strip():
        return title
    return next((p.text.strip() for p in document.paragraphs if _style(p) == "title" and p.text.strip()), "")


class WordImportError(ValueError):
    """The file is not a Word document python-docx can read."""


def plan_docx(path: Path) -> tuple[str, list[ImportedPassage]]:
    """The document's title and its passages, in order."""
    if (size := path.stat().st_size) > IMPORT_MAX_BYTES:
        raise WordImportError(f"{path} is {size:,} bytes, over the limit of {IMPORT_MAX_BYTES:,}; split the document")
    data = path.read_bytes()
    if isinstance(document := read_docx(data, IMPORT_MAX_UNPACKED), str):
        fix = "split the document" if "limit" in document else "give a .docx saved by Word or LibreOffice"
        raise WordImportError(f"{path} {document}; {fix}")
    top = min((level for p in document.paragraphs if (level := _heading_level(p))), default=0)
    passages: list[tuple[str, bool, list[str]]] = []  # (title, provisional, Markdown blocks)
    for block in document.iter_inner_content():
        level = _heading_level(block) if isinstance(block, Paragraph) else 0
        if level and level == top:
            passages.append((block.text.strip(), False, []))
            continue
        if isinstance(block, Paragraph) and _style(block) == "title":
            continue
        markdown = _table(block) if isinstance(block, Table) else _paragraph(block, level - top if level else 0)
        if not markdown:
            continue
        if not passages:
            passages.append(("", True, []))
        passages[-1][2].append(markdown)
    found = [(title, provisional, blocks) for title, provisional, blocks in passages if blocks]
    texts = ["\n\n".join(_joined(blocks)) for _, _, blocks in found]
    ids = unique_ids([title or text for (title, _, _), text in zip(found, texts)])
    return document_title(document), [
        ImportedPassage(pid, title or provisional_title(_plain(text)), text, provisional or not title)
        for pid, (title, provisional, _), text in zip(ids, found, texts)
    ]


def _joined(blocks: list[str]) -> list[str]:
    """Consecutive list items stay one list: no blank line between them."""
    out: list[str] = []
    for block in blocks:
        if out and _is_item(block) and _is_item(out[-1].rsplit("\n", 1)[-1]):
            out[-1] += "\n" + block
        else:
            out.append(block)
    return out


def _is_item(markdown: str) -> bool:
    return re.match(r"^\s*(- |\d+\. )", markdown) is not None


def _plain(markdown: str) -> str:
    return re.sub(r"\\(.)", r"\1", re.sub(r"[*#\[\]]|\]\([^)]*\)", "", markdown))


def _style(paragraph: Paragraph) -> str:
    return (paragraph.style.name or "").lower() if paragraph.style is not None else ""


def _heading_level(paragraph: Paragraph) -> int:
    match = _HEADING.match(_style(paragraph))
    return int(match.group(1)) if match and paragraph.text.strip() else 0


def _paragraph(paragraph: Paragraph, sublevel: int) -> str:
    """One paragraph as Markdown: a sub-heading, a list item or plain text."""
    text = _inlines(paragraph).strip()
    if not text:
        return ""
    if sublevel:
        return f"{'#' * min(sublevel + 1, 3)} {text}"
    item = _list_item(paragraph)
    if item is not None:
        depth, ordered = item
        return f"{'   ' * depth}{'1.' if ordered else '-'} {text}"
    return escape_block_start(text)


def _list_item(paragraph: Paragraph) -> tuple[int, bool] | None:
    """(depth, ordered) of a list paragraph: by its numbering, or by a List style's name."""
    style = _style(paragraph)
    num_pr = paragraph._p.pPr.numPr if paragraph._p.pPr is not None else None  # python-docx has no public numbering API
    if num_pr is not None and num_pr.numId is not None and num_pr.numId.val != 0:
        depth = num_pr.ilvl.val if num_pr.ilvl is not None else 0
        return depth, _is_ordered(paragraph, num_pr.numId.val, depth) or "number" in style
    if style.startswith(("list bullet", "list number")):
        depth = int(style[-1]) - 1 if style[-1].isdigit() else 0
        return depth, style.startswith("list number")
    return None


def _is_ordered(paragraph: Paragraph, num_id: int, depth: int) -> bool:
    try:
        numbering = paragraph.part.numbering_part.element
    except (NotImplementedError, KeyError):
        return False
    formats = numbering.xpath(f'.//w:num[@w:numId="{num_id}"]/w:abstractNumId/@w:val')
    if not formats:
        return False
    levels = numbering.xpath(
        f'.//w:abstractNum[@w:abstractNumId="{formats[0]}"]/w:lvl[@w:ilvl="{depth}"]/w:numFmt/@w:val'
    )
    return bool(levels) and levels[0] in _NUMBERED


def _inlines(paragraph: Paragraph) -> str:
    parts: list[str] = []
    for item in paragraph.iter_inner_content():
        if isinstance(item, Hyperlink):
            text = "".join(_run(r) for r in item.runs)
            parts.append(f"[{text}]({item.address})" if item.address.startswith(("http", "mailto:")) and text else text)
        elif isinstance(item, Run):
            parts.append(_run(item))
    return "".join(parts)


def _run(run: Run) -> str:
    """A run's text, escaped, with its bold and italic; spaces stay outside the markers."""
    text = escape_inline(run.text.replace("\t", " ").replace("\n", " "))
    core = text.strip()
    if not core or not (run.bold or run.italic):
        return text
    marker = "**" if run.bold else ""
    marker += "*" if run.italic else ""
    lead, trail = text[: len(text) - len(text.lstrip())], text[len(text.rstrip()) :]
    return f"{lead}{marker}{core}{marker[::-1]}{trail}"


def _table(table: Table) -> str:
    """A GitHub pipe table, the first row as its header."""
    rows = [
        ["".join(_inlines(p) for p in cell.paragraphs).replace("|", "\\|").strip() for cell in row.cells]
        for row in table.rows
    ]
    if not rows:
        return ""
    width = max(len(r) for r in rows)
    rows = [r + [""] * (width - len(r)) for r in rows]
    lines = ["| " + " | ".join(rows[0]) + " |", "|" + "---|" * width]
    lines += ["| " + " | ".join(r) + " |" for r in rows[1:]]
    return "\n".join(lines)
