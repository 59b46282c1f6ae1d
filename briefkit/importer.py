"""Turning a plain text file into a publication directory, one passage per paragraph.

Passage text is escaped so that Markdown reads it back exactly as written; titles are
derived from the first words and marked provisional, so validation asks for an editor.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from briefkit.loader import PASSAGES_DIR, PUBLICATION_FILE
from briefkit.model import words

_TITLE_WORDS = 6
# Characters that are Markdown syntax anywhere in a line.
_INLINE_SYNTAX = re.compile(r"([\\`*_\[\]<>&!~])")
# Line starts that Markdown would read as a heading, list, quote or setext underline.
_BLOCK_START = re.compile(r"^([#>+=-]|\d+(?=[.)]))")


@dataclass(frozen=True)
class ImportedPassage:
    id: str
    title: str
    text: str  # Markdown, escaped
    provisional: bool = True  # a title derived from the text, for an editor to write


def split_passages(text: str) -> list[str]:
    """Paragraphs when the text has blank lines, else non-empty lines; white space folded."""
    chunks = re.split(r"\n\s*\n", text) if re.search(r"\n\s*\n", text.strip()) else text.split("\n")
    return [" ".join(c.split("\n")).strip() for c in chunks if c.strip()]


def escape_inline(text: str) -> str:
    """``text`` with every character that is Markdown syntax anywhere in a line escaped."""
    return _INLINE_SYNTAX.sub(r"\\\1", text)


def escape_block_start(text: str) -> str:
    """``text`` (already inline-escaped) with a start Markdown would read as a block marker escaped."""
    match = _BLOCK_START.match(text)
    if not match:
        return text
    end = match.end()
    return text[:end] + "\\" + text[end:] if match.group(1)[0].isdigit() else "\\" + text


def escape_markdown(text: str) -> str:
    return escape_block_start(escape_inline(text))


def provisional_title(text: str) -> str:
    first = words(text)[:_TITLE_WORDS]
    title = " ".join(first).rstrip(".,;:!?")
    return title + ("…" if len(words(text)) > _TITLE_WORDS else "")


def _slug(text: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return "-".join(slug.split("-")[:5]) or "passage"


def unique_ids(texts: list[str]) -> list[str]:
    """A slug id from each text's first words, numbered where two would be the same."""
    ids: list[str] = []
    for text in texts:
        base = _slug(text)
        pid, n = base, 2
        while pid in ids:
            pid, n = f"{base}-{n}", n + 1
        ids.append(pid)
    return ids


def plan(text: str) -> list[ImportedPassage]:
    chunks = split_passages(text)
    return [
        ImportedPassage(pid, provisional_title(chunk), escape_markdown(chunk))
        for pid, chunk in zip(unique_ids(chunks), chunks)
    ]


def write_publication(passages: list[ImportedPassage], into: Path, title: str) -> None:
    """Write ``into``/publication.yaml and one Markdown file per passage."""
    (into / PASSAGES_DIR).mkdir(parents=True)
    meta = {"title": title, "language": "en"}
    (into / PUBLICATION_FILE).write_text(_yaml(meta), encoding="utf-8")
    width = len(str(len(passages) * 10))
    for n, p in enumerate(passages, start=1):
        front = _yaml({"title": p.title, "provisional_title": True} if p.provisional else {"title": p.title})
        name = f"{n * 10:0{width}d}-{p.id}.md"
        (into / PASSAGES_DIR / name).write_text(f"---\n{front}---\n{p.text}\n", encoding="utf-8")


SKELETON_PASSAGE = """\
---
title: What this passage is about
summary: One sentence that the executive summary shows for this passage.
tags: [example]
---
Write the passage here, in Markdown: *emphasis*, **strong**, [links](https://example.org),
lists, quotes and ## sub-headings.
"""


def write_skeleton(into: Path, title: str) -> None:
    """A new publication that validates clean: publication.yaml and one example passage."""
    (into / PASSAGES_DIR).mkdir(parents=True)
    meta = {"title": title, "language": "en", "authors": ["Your Name"], "organisation": "Your organisation"}
    (into / PUBLICATION_FILE).write_text(_yaml(meta), encoding="utf-8")
    (into / PASSAGES_DIR / "010-first-passage.md").write_text(SKELETON_PASSAGE, encoding="utf-8")


def _yaml(data: dict[str, object]) -> str:
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=10_000)
