"""Loading a publication directory into the model, collecting diagnostics on the way.

``load_publication`` never raises on bad input: every problem becomes a Diagnostic with a
file, line and fix, and the model is returned only when there are no errors.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import difflib
import functools
import hashlib
import io
import os
import re
import stat
import subprocess
import unicodedata
import warnings
import zipfile
import zlib
import zoneinfo
from collections.abc import Sequence
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from briefkit import style
from briefkit.cron import cron_problem
from briefkit.diagnostics import Diagnostic, has_errors
from briefkit.fonts import coverage, find_family, installed_families
from briefkit.markdown import parse_body, smarten
from briefkit.model import (
    DRAFT,
    FINAL,
    PLAIN,
    SLUG,
    SMART,
    Passage,
    Publication,
    Theme,
    block_texts,
    figures,
    numbered,
    squash,
)
from briefkit.settings import Settings, get_settings
from briefkit.yamldoc import YamlDoc, YamlError, parse_yaml

if TYPE_CHECKING:
    from docx.document import Document as DocxDocument
    from PIL import Image

PUBLICATION_FILE = "publication.yaml"
PASSAGES_DIR = "passages"

PUBLICATION_KEYS = (
    "title", "subtitle", "language", "organisation", "authors", "edition", "classification",
    "description", "passages", "theme", "schedule", "timezone", "formats", "readers", "editors", "status",
    "strict", "tags",
)  # fmt: skip
PASSAGE_KEYS = ("title", "id", "summary", "tags", "provisional_title")
THEME_KEYS = tuple(f.name for f in fields(Theme))

_LANGUAGE = re.compile(r"^[A-Za-z]{2,3}(?:-[A-Za-z0-9]{1,8})*$")
_COLOR = re.compile(r"^#[0-9A-Fa-f]{6}$")
_PAGE_SIZES = ("A4", "Letter")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_NUMERIC_PREFIX = re.compile(r"^\d+[-_.]?")
# Text that XML and Word refuse, besides C0/C1 controls: non-characters.
NONCHARACTERS = frozenset({0xFFFE, 0xFFFF, *range(0xFDD0, 0xFDF0)})
# Controls (category Cc) but tab and newline, surrogates (Cs), non-characters: one regex,
# because a character-by-character scan was a third of loading a large publication.
_FORBIDDEN = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff" + "".join(map(chr, sorted(NONCHARACTERS))) + "]")


def is_id(text: str) -> bool:
    """A publication or passage id: a lower-case slug, short enough for file names and URLs."""
    return len(text) <= LINE_LIMITS["id"] and SLUG.match(text) is not None


def is_forbidden_char(ch: str) -> bool:
    return _FORBIDDEN.fullmatch(ch) is not None


# ---- reading files ------------------------------------------------------------------

Read = dict[Path, bytes]  # the bytes of each file read, by the path it was read at
_NOT_REGULAR = {
    stat.S_IFDIR: "a directory",
    stat.S_IFIFO: "a named pipe (FIFO)",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
    stat.S_IFSOCK: "a socket",
}


class Refused(OSError):
    """Why a source file was not read, as the diagnostic that says so."""

    def __init__(self, diagnostic: Diagnostic) -> None:
        super().__init__(diagnostic.message)
        self.diagnostic = diagnostic


def regular_bytes(path: Path, limit: int, root: Path | None = None) -> bytes:
    """The bytes of ``path`` if it is a regular file of at most ``limit`` bytes, else Refused.
    With ``root``, a symbolic link must resolve inside it, so a published document cannot
    carry e.g. /etc/passwd.

    Opened without blocking (a named pipe cannot hang it), checked on the open descriptor (so
    nothing can be swapped in between), and never read past ``limit`` + 1 bytes (/dev/zero).
    """
    real = os.path.realpath(path)
    dangling = os.path.islink(path) and not os.path.lexists(real)  # leaks nothing: reported as unreadable below
    if root is not None and not dangling and not Path(real).is_relative_to(os.path.realpath(root)):
        raise Refused(Diagnostic(
            "BK127", path, f"leads to {real}, outside the publication directory {root}",
            "copy the file into the publication directory instead of linking to it or naming a path outside",
        ))  # fmt: skip
    try:
        fd = os.open(real, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError as exc:
        raise Refused(_unreadable(path, exc)) from None
    try:
        info = os.fstat(fd)
        regular = stat.S_ISREG(info.st_mode)
        data = _read_at_most(fd, limit + 1) if regular and info.st_size <= limit else b""
    except OSError as exc:
        raise Refused(_unreadable(path, exc)) from None
    finally:
        os.close(fd)
    if not regular:
        kind = _NOT_REGULAR.get(stat.S_IFMT(info.st_mode), "not a regular file")
        raise Refused(Diagnostic(
            "BK118", path, f"{kind} where a file is expected",
            "replace it with a regular file, or move it out (a passage: rename it so that it does not end in .md)",
        ))  # fmt: skip
    if max(len(data), info.st_size) > limit:
        raise Refused(Diagnostic(
            "BK114", path, f"file is {max(len(data), info.st_size):,} bytes, over the limit of {limit:,}",
            "split it into smaller passages, or raise BRIEFKIT_MAX_FILE_BYTES",
        ))  # fmt: skip
    return data


def _read_at_most(fd: int, most: int) -> bytes:
    chunks, size = [], 0
    while size < most and (chunk := os.read(fd, min(1 << 20, most - size))):
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


def read_regular(
    path: Path, limit: int, diags: list[Diagnostic], root: Path | None = None, into: Read | None = None
) -> bytes | None:
    """``regular_bytes``, or None after reporting why not. The bytes are also kept ``into``, when given."""
    try:
        data = regular_bytes(path, limit, root)
    except Refused as exc:
        diags.append(exc.diagnostic)
        return None
    if into is not None:
        into[path] = data
    return data


def _unreadable(path: Path, exc: OSError) -> Diagnostic:
    return Diagnostic(
        "BK118", path, f"cannot read file: {exc.strerror}",
        "check that it exists (a symbolic link must point to a file) and that it is readable",
    )  # fmt: skip


def read_source(
    path: Path, limit: int, diags: list[Diagnostic], root: Path | None = None, into: Read | None = None
) -> str | None:
    """A source file as text with LF line ends, or None after reporting why not (see ``read_regular``)."""
    raw = read_regular(path, limit, diags, root, into)
    if raw is None:
        return None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        diags.append(Diagnostic(
            "BK103", path, f"byte 0x{raw[exc.start]:02x} at offset {exc.start} is not valid UTF-8",
            "save the file as UTF-8 in your editor", line, column,
        ))  # fmt: skip
        return None
    text = text.removeprefix("\ufeff").replace("\r\n", "\n")
    check_control_chars(text, path, 1, diags)
    return text


def check_control_chars(text: str, path: Path, first_line: int, diags: list[Diagnostic]) -> None:
    found = _FORBIDDEN.search(text)
    if found is None:
        return
    # one is enough to point the editor at the problem
    at = found.start()
    line_start = text.rfind("\n", 0, at) + 1
    diags.append(Diagnostic(
        "BK104", path, f"control character U+{ord(found.group()):04X} in text",
        "delete it; only tab and newline are allowed", first_line + text.count("\n", 0, at), at - line_start + 1,
    ))  # fmt: skip


# ---- one-line text fields -------------------------------------------------------------

# Longest value of each one-line field, in characters (BK126): room for any real one, and a
# bound on the work every exporter does per value (a 320 KB title took 69 s in the PDF export).
LINE_LIMITS: dict[str, int] = {
    "title": 200, "subtitle": 300, "summary": 600, "description": 2000, "classification": 64,
    "organisation": 200, "authors": 120, "name": 120, "tags": 64, "id": 64, "passages": 64,
    "address": 254, "language": 35, "schedule": 100, "timezone": 64, "font": 100, "logo": 1024, "reference_docx": 1024,
}  # fmt: skip
DEFAULT_LINE_LIMIT = 200  # the other one-line fields: colours, page size

# Every line break str.splitlines knows, the Unicode ones too: none belongs in a one-line field.
_LINE_BREAK = re.compile("[\n\r\v\f\x1c-\x1e\x85\u2028\u2029]")
# The start of an RFC 2047 encoded word: mail programs decode it into header text, where
# Python's email package (CVE-2024-6923) lets an encoded CR LF start a header of its own.
_ENCODED_WORD = re.compile(r"=\?[^?]*\?[bq]\?", re.IGNORECASE)
# Format characters (category Cf) a script needs to be written right: the soft hyphen, the
# joiners, the direction marks (no embedding: they order nothing but the neutrals beside
# them) and the visible prepended concatenation marks. Every other one is refused in a
# one-line field: bidi embeddings, overrides and isolates reorder what follows, and the
# zero-width and tag characters hide text, so a title or name could show one thing and say another.
ALLOWED_FORMAT_CHARS = frozenset(
    "\u00ad\u200c\u200d\u200e\u200f\u061c\u0600\u0601\u0602\u0603\u0604\u0605\u06dd\u070f\u0890\u0891\u08e2"
    "\U000110bd\U000110cd"
)


def _named(ch: str) -> str:
    return f"U+{ord(ch):04X} {unicodedata.name(ch, '')}".rstrip()


def check_line(text: str, field: str, file: Path, line: int, diags: list[Diagnostic]) -> bool:
    """Report what keeps ``text``, the value of ``field`` at ``line`` of ``file``, from being one
    line of plain text fit for every document and mail header; True when nothing does."""
    before = len(diags)

    def report(code: str, message: str, hint: str) -> None:
        diags.append(Diagnostic(code, file, message, hint, line, 1))

    limit = LINE_LIMITS.get(field, DEFAULT_LINE_LIMIT)
    if len(text) > limit:
        report(
            "BK126",
            f"'{field}' is {len(text):,} characters long, over the limit of {limit}",
            f"shorten it to at most {limit} characters",
        )
    if found := _LINE_BREAK.search(text):
        report(
            "BK116",
            f"'{field}' must be one line, but has a line break ({_named(found.group())})",
            f"write {field} on one line (in YAML, '{field}: >-' folds the indented lines below it into one)",
        )
    check_control_chars(_LINE_BREAK.sub(" ", text), file, line, diags)
    formatting = sorted({ch for ch in text if unicodedata.category(ch) == "Cf"} - ALLOWED_FORMAT_CHARS)
    if formatting:
        names = ", ".join(map(_named, formatting[:4])) + (
            f" and {len(formatting) - 4} more" if len(formatting) > 4 else ""
        )
        report(
            "BK125",
            f"'{field}' has invisible formatting characters that can disguise it: {names}",
            "delete them (the direction marks U+200E, U+200F, U+061C and the joiners U+200C, U+200D are allowed)",
        )
    if found := _ENCODED_WORD.search(text):
        report(
            "BK124",
            f"'{field}' has '{found.group()}', the start of a MIME encoded word, which mail programs decode into header text",
            "write the text itself, not MIME-encoded; if it is meant literally, put a space between '=' and '?'",
        )
    return len(diags) == before


def shown(value: object, most: int = 60) -> str:
    """``value`` as text for a message: cut short, so a message does not repeat a huge value, and
    with invisible characters as escapes, so none can hide in it or drive the terminal (ESC)."""
    text = str(value)
    cut = text[:most] + ("…" if len(text) > most else "")
    return "".join(ch if ch.isprintable() else f"\\u{ord(ch):04x}" for ch in cut)


# ---- typed access to YAML mappings ---------------------------------------------------


@dataclass
class _Fields:
    """One YAML mapping with its file and line offset, and the diagnostics it adds to."""

    file: Path
    doc: YamlDoc
    offset: int  # number of file lines before the YAML text
    diags: list[Diagnostic]
    prefix: tuple[str, ...] = ()

    def line(self, *path: str | int) -> int:
        line = self.doc.line(*self.prefix, *path)
        return line + self.offset if line else 0

    def report(self, code: str, key: str, message: str, hint: str) -> None:
        self.diags.append(Diagnostic(code, self.file, message, hint, self.line(key), 1))

    @property
    def mapping(self) -> dict[str, object]:
        data: object = self.doc.data
        for step in self.prefix:
            data = data.get(step) if isinstance(data, dict) else None
        return data if isinstance(data, dict) else {}

    def check_keys(self, known: tuple[str, ...], where: str) -> None:
        for key in self.mapping:
            if str(key) in known:
                continue
            close = difflib.get_close_matches(str(key), known, n=1)
            hint = f"did you mean '{close[0]}'?" if close else f"known keys in {where}: {', '.join(known)}"
            self.diags.append(Diagnostic(
                "BK105", self.file, f"unknown key '{shown(key)}' in {where}", hint,
                self._key_line(str(key)), 1,
            ))  # fmt: skip

    def _key_line(self, key: str) -> int:
        line = self.doc.key_line(key, *self.prefix)
        return line + self.offset if line else 0

    def text(self, key: str, default: str = "") -> str:
        """The one-line text at ``key``; ``default`` when absent, or after reporting what is wrong."""
        if self.mapping.get(key) is None:
            return default
        value = self.doc.text(*self.prefix, key)
        if value is None:
            self.report(
                "BK116", key, f"'{key}' must be text", f"write {key}: followed by plain text (quoted if need be)"
            )
            return default
        text = value.strip()
        return text if check_line(text, key, self.file, self.line(key), self.diags) else default

    def strings(self, key: str) -> tuple[str, ...]:
        """The list of one-line texts at ``key``; the clean ones, after reporting the others."""
        value = self.mapping.get(key)
        if value is None:
            return ()
        items = [self.doc.text(*self.prefix, key, n) for n in range(len(value))] if isinstance(value, list) else [None]
        if any(item is None for item in items):
            self.report("BK116", key, f"'{key}' must be a list of text", f"write {key}: [first, second]")
            return ()
        texts = [item.strip() for item in items if item is not None]
        return tuple(t for n, t in enumerate(texts) if check_line(t, key, self.file, self.line(key, n), self.diags))

    def required_title(self) -> str:
        title = self.text("title")
        written = self.doc.text(*self.prefix, "title")
        if self.mapping.get("title") is None or (written is not None and not written.strip()):
            line = self.line("title") or self.offset + 1
            self.diags.append(
                Diagnostic("BK106", self.file, "title is missing or empty", "add a line: title: ...", line, 1)
            )
        return title


def _parse_mapping(text: str, file: Path, offset: int, diags: list[Diagnostic]) -> _Fields | None:
    parsed = parse_yaml(text)
    if isinstance(parsed, YamlError):
        diags.append(yaml_problem(parsed, file, offset))
        return None
    if parsed.data is None:
        parsed = YamlDoc({}, parsed.node)
    if not isinstance(parsed.data, dict):
        diags.append(
            Diagnostic(
                "BK116", file, "YAML must be a mapping of keys to values", "write key: value lines", offset + 1, 1
            )
        )
        return None
    return _Fields(file, parsed, offset, diags)


def yaml_problem(error: YamlError, file: Path, offset: int = 0) -> Diagnostic:
    """BK102 for YAML that starts after ``offset`` lines of ``file``."""
    return Diagnostic("BK102", file, error.message(offset), error.hint, error.line + offset, error.column)


# ---- passages -----------------------------------------------------------------------


def split_front_matter(text: str) -> tuple[str, str, int] | None:
    """(front matter, body, body's first line) or None when there is no closed front matter."""
    lines = text.split("\n")
    if not lines or lines[0].rstrip() != "---":
        return None
    for i in range(1, len(lines)):
        if lines[i].rstrip() in ("---", "..."):
            return "\n".join(lines[1:i]), "\n".join(lines[i + 1 :]), i + 2
    return None


def default_passage_id(path: Path) -> str:
    return _NUMERIC_PREFIX.sub("", path.stem) or path.stem


def _load_passage(
    path: Path, root: Path, settings: Settings, drawable: frozenset[int] | None, read: Read, diags: list[Diagnostic],
    smart: bool,
) -> Passage | None:  # fmt: skip
    text = read_source(path, settings.max_file_bytes, diags, root, read)
    if text is None:
        return None
    parts = split_front_matter(text)
    if parts is None:
        diags.append(Diagnostic(
            "BK117", path, "front matter is missing or not closed",
            "start the file with a line '---', then 'title: ...', then a closing '---' line", 1, 1,
        ))  # fmt: skip
        return None
    front, body, body_line = parts
    meta = _parse_mapping(front, path, 1, diags)
    if meta is None:
        return None
    meta.check_keys(PASSAGE_KEYS, "passage front matter")
    passage_id = meta.text("id") or default_passage_id(path)
    if not is_id(passage_id):
        line = meta.line("id") or 1
        diags.append(Diagnostic(
            "BK109", path, f"passage id '{shown(passage_id)}' is not a lower-case slug of at most {LINE_LIMITS['id']} characters",
            "use lower-case letters, digits and single hyphens, e.g. nato-support", line, 1,
        ))  # fmt: skip
    title = meta.required_title()
    provisional = meta.mapping.get("provisional_title") is True
    parsed = parse_body(body, path, body_line, functools.partial(figure_file, root, into=read), smart)
    blocks, body_diags = parsed.blocks, parsed.diagnostics
    diags.extend(body_diags)
    texts = block_texts(blocks)
    if not squash(" ".join(texts)) and not body_diags:
        diags.append(
            Diagnostic(
                "BK107", path, "passage body is empty", "write the passage text below the closing '---'", body_line, 1
            )
        )
    typeset = smarten if smart else str
    passage = Passage(
        id=passage_id,
        title=typeset(title),
        summary=typeset(meta.text("summary")),
        tags=meta.strings("tags"),
        blocks=blocks,
        file=path,
        body_line=body_line,
        provisional_title=provisional,
        notes=parsed.notes,
    )
    diags.extend(style.check_passage(passage, body, settings, drawable))
    return passage


# ---- publication --------------------------------------------------------------------


def list_passage_files(root: Path) -> list[Path]:
    """The passage files of publication ``root``, in file-name order (hidden files aside)."""
    return sorted(p for p in (root / PASSAGES_DIR).glob("*.md") if not p.name.startswith("."))


def load_publication(
    path: Path | str, settings: Settings | None = None, known_formats: Sequence[str] | None = None
) -> tuple[Publication | None, list[Diagnostic]]:
    """Load ``path`` (a publication directory); the model is None whenever there are errors.

    ``known_formats`` (the exporters' names, which briefkit/ must not import) checks ``formats:``.
    """
    settings = settings or get_settings()
    root = Path(path)
    diags: list[Diagnostic] = []
    yaml_path = root / PUBLICATION_FILE
    if not root.is_dir():
        diags.append(
            Diagnostic("BK100", root, "not a publication directory", f"give a directory that holds {PUBLICATION_FILE}")
        )
        return None, diags
    if not os.path.lexists(yaml_path):
        diags.append(
            Diagnostic(
                "BK101", yaml_path, f"{PUBLICATION_FILE} is missing", "create it with at least a line: title: ..."
            )
        )
        return None, diags
    if not is_id(root.name):
        diags.append(Diagnostic(
            "BK109", root, f"publication id '{shown(root.name)}' (the directory name) is not a lower-case slug of at most {LINE_LIMITS['id']} characters",
            "rename the directory to lower-case letters, digits and single hyphens",
        ))  # fmt: skip
    read: Read = {}  # every byte that shapes the output, as validated: what the content hash is of
    text = read_source(yaml_path, settings.max_file_bytes, diags, root, read)
    meta = _parse_mapping(text, yaml_path, 0, diags) if text is not None else None
    if meta is None:
        return None, diags
    meta.check_keys(PUBLICATION_KEYS, PUBLICATION_FILE)

    theme = _theme(meta, root, read)
    family = find_family(theme.font)
    drawable = coverage(family) if family else None
    passage_files = list_passage_files(root)
    smart = theme.typography == SMART
    loaded = [
        p for f in passage_files if (p := _load_passage(f, root, settings, drawable, read, diags, smart)) is not None
    ]
    passages = numbered(tuple(_order(loaded, passage_files, meta, diags)))
    if not passage_files:
        diags.append(Diagnostic(
            "BK115", root, "publication has no passages",
            f"add Markdown files under {root / PASSAGES_DIR}/, e.g. 010-first.md",
        ))  # fmt: skip

    language = meta.text("language", "en")
    if not _LANGUAGE.match(language):
        meta.report(
            "BK116", "language", f"language '{language}' is not a BCP 47 tag", "use a tag such as en, en-GB or uk"
        )
    assets = [*_assets(theme), *(f.path for p in passages for f in figures(p.blocks))]
    edition = _edition(meta, [yaml_path, *passage_files, *assets])
    schedule = meta.text("schedule")
    if schedule and (problem := cron_problem(schedule)):
        meta.report(
            "BK116",
            "schedule",
            f"schedule '{schedule}' is not a cron expression: {problem}",
            'write e.g. schedule: "0 6 * * 1-5" (06:00 on weekdays)',
        )
    timezone = _timezone(meta)
    formats = _formats(meta, known_formats)
    status = meta.text("status", FINAL)
    if status not in (FINAL, DRAFT):
        meta.report(
            "BK116", "status", f"status '{status}' is not final or draft", "write status: draft or status: final"
        )
    typeset = smarten if smart else str
    strict = meta.mapping.get("strict", False)
    if not isinstance(strict, bool):
        meta.report("BK116", "strict", "'strict' must be true or false", "write strict: true")
    publication = Publication(
        id=root.name,
        title=typeset(meta.required_title()),
        subtitle=typeset(meta.text("subtitle")),
        language=language,
        organisation=typeset(meta.text("organisation")),
        authors=tuple(map(typeset, meta.strings("authors"))),
        edition=edition,
        classification=meta.text("classification"),
        description=typeset(meta.text("description")),
        passages=tuple(passages),
        source_dir=root,
        content_hash="",  # below, once every source has been read without error
        theme=theme,
        schedule=schedule,
        formats=formats,
        status=status,
        strict=strict is True,
        timezone=timezone,
        tags=_tags(meta),
        extra=tuple((k, meta.mapping[k]) for k in ("readers",) if k in meta.mapping),
    )
    diags.sort(key=lambda d: (str(d.file), d.line, d.column, d.code))
    if has_errors(diags):
        return None, diags
    return replace(publication, content_hash=content_hash(root, read, edition)), diags


def _order(loaded: list[Passage], files: list[Path], meta: _Fields, diags: list[Diagnostic]) -> list[Passage]:
    """Passages in the order of ``passages:``, or by file name; reports id clashes."""
    by_id: dict[str, Passage] = {}
    for p in loaded:
        if p.id in by_id:
            diags.append(Diagnostic(
                "BK108", p.file, f"passage id '{p.id}' is also used by {by_id[p.id].file.name}",
                "give one of them a different file name or id:", 1, 1,
            ))  # fmt: skip
        else:
            by_id[p.id] = p
    if "passages" not in meta.mapping:
        return list(by_id.values())
    listed = meta.strings("passages")
    ordered: list[Passage] = []
    seen: set[str] = set()
    for n, pid in enumerate(listed):
        if pid in seen:
            diags.append(
                Diagnostic(
                    "BK108",
                    meta.file,
                    f"passage '{pid}' is listed twice",
                    "remove the second entry",
                    meta.line("passages", n),
                    1,
                )
            )
        elif pid in by_id:
            ordered.append(by_id[pid])
        elif not any(default_passage_id(f) == pid for f in files):  # a file that failed to load is not "missing"
            known = difflib.get_close_matches(pid, list(by_id), n=1)
            hint = f"did you mean '{known[0]}'?" if known else "add the passage file or remove the entry"
            diags.append(
                Diagnostic(
                    "BK110",
                    meta.file,
                    f"passages: names '{pid}', but no passage has that id",
                    hint,
                    meta.line("passages", n),
                    1,
                )
            )
        seen.add(pid)
    for p in by_id.values():
        if p.id not in seen:
            diags.append(Diagnostic(
                "BK111", p.file, f"passage '{p.id}' is not listed in {PUBLICATION_FILE} passages:",
                f"add '- {p.id}' to passages: in {PUBLICATION_FILE}, or delete the file", 1, 1,
            ))  # fmt: skip
    return ordered


def _formats(meta: _Fields, known: Sequence[str] | None) -> tuple[str, ...]:
    """``formats:`` without repeats; every name must be a known format."""
    formats = tuple(dict.fromkeys(meta.strings("formats")))
    if meta.mapping.get("formats") == []:
        meta.report("BK116", "formats", "'formats' names no format", "list formats, or remove the key for all of them")
    if known is not None and (unknown := [f for f in formats if f not in known]):
        meta.report(
            "BK116",
            "formats",
            f"unknown format {', '.join(unknown)} in formats",
            f"known formats: {', '.join(known)}",
        )
    return formats


def _timezone(meta: _Fields) -> str:
    """``timezone:``, an IANA name zoneinfo knows (as ``--timezone`` must be)."""
    name = meta.text("timezone")
    if name and name not in (known := zoneinfo.available_timezones()):
        close = difflib.get_close_matches(name, sorted(known), n=1)
        meta.report(
            "BK134",
            "timezone",
            f"timezone '{shown(name)}' is not an IANA time zone name",
            f"did you mean '{close[0]}'?"
            if close
            else "write e.g. timezone: Europe/Kyiv (a name in /usr/share/zoneinfo)",
        )
        return ""
    return name


def _tags(meta: _Fields) -> tuple[str, ...]:
    """``tags:`` without repeats; each a lower-case slug, as it names the portal's page of the tag."""
    tags = tuple(dict.fromkeys(meta.strings("tags")))
    bad = {t for t in tags if not SLUG.match(t)}
    for n in range(len(tags) and len(meta.mapping["tags"])):  # each bad one at its own line
        if (tag := (meta.doc.text(*meta.prefix, "tags", n) or "").strip()) in bad:
            bad.discard(tag)
            meta.diags.append(Diagnostic(
                "BK116", meta.file, f"tag '{shown(tag)}' is not a lower-case slug",
                "write tags as lower-case words joined by hyphens, e.g. tags: [nato, air-defence]",
                meta.line("tags", n), 1,
            ))  # fmt: skip
    return tags


def _theme(meta: _Fields, root: Path, read: Read) -> Theme:
    value = meta.mapping.get("theme")
    if value is None:
        return Theme()
    if not isinstance(value, dict):
        meta.report("BK116", "theme", "'theme' must be a mapping", "write theme: and indented key: value lines")
        return Theme()
    sub = _Fields(meta.file, meta.doc, meta.offset, meta.diags, ("theme",))
    sub.check_keys(THEME_KEYS, "theme")
    default = Theme()
    font = sub.text("font", default.font)
    if find_family(font) is None:
        have = installed_families()
        close = difflib.get_close_matches(font.replace(" ", "").lower(), have, n=1)
        hint = (
            f"did you mean '{close[0]}'?"
            if close
            else "install the font (e.g. Debian fonts-dejavu-core) or name another family"
        )
        sub.report(
            "BK116",
            "font",
            f"font family '{font}' is not installed with regular, bold, italic and bold italic faces",
            hint,
        )
    colors = {}
    for key in ("primary_color", "accent_color"):
        colors[key] = sub.text(key, getattr(default, key))
        if not _COLOR.match(colors[key]):
            sub.report(
                "BK116", key, f"{key} '{colors[key]}' is not a #RRGGBB colour", f'write e.g. {key}: "#1F3A5F" (quoted)'
            )
        elif (ratio := contrast_with_white(colors[key])) < MIN_CONTRAST:
            sub.report(
                "BK135", key, f"{key} {colors[key]} has a contrast of {ratio:.1f}:1 with white, under {MIN_CONTRAST}:1",
                "choose a darker colour: headings, links and the classification are drawn in it on white, "
                "and white text on it (WCAG 2, AA)",
            )  # fmt: skip
    page_size = sub.text("page_size", default.page_size)
    if page_size not in _PAGE_SIZES:
        sub.report(
            "BK116",
            "page_size",
            f"page_size '{page_size}' is not one of {', '.join(_PAGE_SIZES)}",
            "write page_size: A4 or page_size: Letter",
        )
    typography = sub.text("typography", default.typography)
    if typography not in (SMART, PLAIN):
        sub.report(
            "BK116",
            "typography",
            f"typography '{typography}' is not {SMART} or {PLAIN}",
            f"write typography: {PLAIN} to keep quotes and dashes as typed, or remove the key",
        )
    assets = {key: _theme_file(sub, key, root, read) for key in ("logo", "reference_docx")}
    return Theme(font=font, page_size=page_size, typography=typography, **colors, **assets)


# ---- theme files --------------------------------------------------------------------

# Bounds on what a theme file may make the exporters read, decode and unpack.
LOGO_MAX_BYTES = 5 * 1024 * 1024
# 4,000 x 4,000: far more than the cover's 6 x 2.5 cm box needs at print resolution, and
# at most 64 MB once decoded (Pillow's own bomb check starts only at 89 megapixels).
LOGO_MAX_PIXELS = 16_000_000
DOCX_MAX_BYTES = 10 * 1024 * 1024
DOCX_MAX_ENTRIES = 1000  # a Word document has a few dozen parts
DOCX_MAX_UNPACKED = 100 * 1024 * 1024  # counted as inflated, not as the entries state it
_DOCX_PARTS = ("word/document.xml", "word/styles.xml")


# WCAG 2's AA contrast for text of any size: a theme colour is text on white (headings, links, the
# classification) and a background under white text (table headers, the classification banner)
MIN_CONTRAST = 4.5


def contrast_with_white(color: str) -> float:
    """WCAG 2's contrast ratio of ``#RRGGBB`` against white, from 1 (white) to 21 (black)."""

    def linear(channel: int) -> float:  # sRGB to linear light
        c = channel / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (linear(int(color[i : i + 2], 16)) for i in (1, 3, 5))
    return 1.05 / (0.2126 * r + 0.7152 * g + 0.0722 * b + 0.05)


def _theme_file(sub: _Fields, key: str, root: Path, read: Read) -> Path | None:
    """``root``/``theme.key``, when it names a usable file inside the publication directory."""
    rel = sub.text(key)
    if not rel:
        return None
    path = root / rel
    found: list[Diagnostic] = []
    data = read_regular(path, LOGO_MAX_BYTES if key == "logo" else DOCX_MAX_BYTES, found, root, read)
    # reported at the theme line that names the file, which is where it is fixed
    for d in found:
        hint = d.hint if d.code != "BK114" else f"use a smaller {'image' if key == 'logo' else 'document'}"
        sub.report(d.code, key, f"theme {key} '{shown(rel)}': {d.message}", hint)
    if data is None:
        return None
    if isinstance(problem := image_size(data) if key == "logo" else read_docx(data), str):
        sub.report(
            "BK119",
            key,
            f"theme {key} '{shown(rel)}' {problem}",
            "give a PNG logo, or an upright RGB JPEG" if key == "logo" else "give a .docx saved by Word or LibreOffice",
        )
        return None
    return path


def figure_file(root: Path, src: str, into: Read | None = None) -> tuple[Path, int, int] | Diagnostic:
    """The image a passage shows as a figure: its resolved path and pixel size, or why not. Its
    bytes are also kept ``into``, when given."""
    if not src or "\0" in src or urlsplit(src).scheme or os.path.isabs(src):
        return Diagnostic(
            "BK127", root, "is not a path inside the publication directory",
            "copy the image into the publication, e.g. figures/chart.png, and give that path",
        )  # fmt: skip
    path = root / src
    try:
        data = regular_bytes(path, LOGO_MAX_BYTES, root)
    except Refused as exc:
        hint = exc.diagnostic.hint if exc.diagnostic.code != "BK114" else "use a smaller image"
        return replace(exc.diagnostic, hint=hint)
    size = image_size(data)
    if isinstance(size, str):
        return Diagnostic("BK132", path, size, "give a PNG, or an upright RGB JPEG")
    if into is not None:
        into[path] = data
    return Path(os.path.realpath(path)), *size


def image_size(data: bytes) -> tuple[int, int] | str:
    """The pixel size of a PNG or JPEG that decodes within the pixel limit, or why ``data`` is not one."""
    from PIL import Image  # only when there are images: Pillow takes a while to import

    with warnings.catch_warnings():
        # the size is checked below; Pillow's own check would only warn up to 179 megapixels
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            with Image.open(io.BytesIO(data), formats=("PNG", "JPEG")) as image:
                width, height = image.size
                if width * height > LOGO_MAX_PIXELS:
                    return f"is {width} x {height} pixels, over the limit of {LOGO_MAX_PIXELS:,} pixels"
                if image.format == "JPEG" and (problem := _jpeg_problem(image)):
                    return problem
                image.verify()  # checksums, without decoding
            with Image.open(io.BytesIO(data), formats=("PNG", "JPEG")) as image:
                image.load()  # every pixel, within the size checked above
        except Image.DecompressionBombError:
            return f"is over the limit of {LOGO_MAX_PIXELS:,} pixels"
        except Image.UnidentifiedImageError:
            return "is not a PNG or JPEG image"
        except Exception as exc:  # noqa: BLE001 -- a decoder fed untrusted bytes may fail in any way; each means unusable
            return f"is not a readable PNG or JPEG image ({type(exc).__name__}: {shown(exc, 100)})"
    return width, height


def _jpeg_problem(image: Image.Image) -> str | None:
    """What in a JPEG one of the formats would show differently or not at all, or None."""
    if image.mode not in ("RGB", "L"):  # python-docx reads no Adobe-only (CMYK) header: the Word pack fails
        return f"is a {image.mode} JPEG, which the Word pack cannot show"
    if "jfif" not in image.info and "exif" not in image.info:  # python-docx recognises a JPEG by one of them
        return "is a JPEG with neither a JFIF nor an Exif header, which the Word pack cannot read"
    # a browser (the EPUB) turns the image as its Exif orientation says; reportlab and Word do not
    if (orientation := image.getexif().get(0x0112, 1)) != 1:
        return f"is stored turned (Exif orientation {orientation}), which only the EPUB would undo"
    return None


def read_docx(data: bytes, max_unpacked: int = DOCX_MAX_UNPACKED) -> DocxDocument | str:
    """The Word document in ``data`` as python-docx opens it, once it is within the unpacking
    limits (``max_unpacked`` bytes in all, inflated); else why it is not one."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            entries = archive.infolist()
            if len(entries) > DOCX_MAX_ENTRIES:
                return f"has {len(entries):,} entries, over the limit of {DOCX_MAX_ENTRIES:,}"
            names = {e.filename for e in entries}
            if missing := [part for part in _DOCX_PARTS if part not in names]:
                return f"is not a Word document: it has no {' or '.join(missing)}"
            unpacked = 0
            for entry in entries:
                if entry.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
                    return f"has '{shown(entry.filename)}' compressed in a way Word does not use"
                size = _inflated_size(data, entry, max_unpacked - unpacked)
                if size > entry.file_size:
                    return f"has '{shown(entry.filename)}' inflating past its stated {entry.file_size:,} bytes (a zip bomb)"
                unpacked += size
                if unpacked > max_unpacked:
                    return f"unpacks to over {max_unpacked:,} bytes, the limit"
    except (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, ValueError, OSError):
        return "is not a Word document (.docx): not a zip archive"
    import docx  # only when there is a Word document: python-docx takes a while to import

    try:
        return docx.Document(io.BytesIO(data))
    except Exception as exc:  # noqa: BLE001 -- python-docx fed untrusted bytes may fail in any way; each means unusable
        return f"cannot be opened as a Word document ({type(exc).__name__}: {shown(exc, 100)})"


def _inflated_size(data: bytes, entry: zipfile.ZipInfo, most: int) -> int:
    """How many bytes ``entry`` of the zip ``data`` really inflates to, counted to ``most`` + 1 at most.

    zipfile trusts an entry's stated size: it would inflate a bomb whole, then cut it short.
    """
    local = entry.header_offset  # the local header: 30 bytes, then the name and an extra field
    start = local + 30 + int.from_bytes(data[local + 26 : local + 28], "little")
    start += int.from_bytes(data[local + 28 : local + 30], "little")
    raw = data[start : start + entry.compress_size]
    if entry.compress_type == zipfile.ZIP_STORED:
        return len(raw)
    inflater, size = zlib.decompressobj(-zlib.MAX_WBITS), 0
    while raw and size <= most:
        size += len(inflater.decompress(raw, 1 << 20))
        raw = inflater.unconsumed_tail
    return size


def _assets(theme: Theme) -> list[Path]:
    return [p for p in (theme.logo, theme.reference_docx) if p is not None and p.is_file()]


EDITION_YEARS = range(1900, 10000)  # four-digit years, as EPUB's dates need


def _edition(meta: _Fields, files: list[Path]) -> dt.date:
    """publication.yaml's edition: a date such as 2025-03-01; the sources' date without one."""
    value = meta.mapping.get("edition")
    if isinstance(value, dt.datetime):
        value = value.date()
    if isinstance(value, str) and _ISO_DATE.match(value.strip()):
        with contextlib.suppress(ValueError):  # e.g. "2025-02-30": reported below as not a date
            value = dt.date.fromisoformat(value.strip())
    if value is None:
        return default_edition(files)
    if not isinstance(value, dt.date):
        written = meta.doc.text("edition")
        meta.report(
            "BK116",
            "edition",
            f"edition '{shown(written)}' is not a date" if written is not None else "edition must be a date",
            "write edition: 2025-03-01, or remove it to use the sources' date",
        )
    elif value.year not in EDITION_YEARS:
        meta.report(
            "BK116",
            "edition",
            f"edition {value.isoformat()} is outside the years {EDITION_YEARS[0]}-{EDITION_YEARS[-1]}",
            "write the edition's real date, e.g. edition: 2025-03-01",
        )
    else:
        return value
    return default_edition(files)


def default_edition(files: list[Path]) -> dt.date:
    """The newest modification date of the sources: git's when they are committed unchanged.

    Never "now", so the same sources always give the same edition and the same bytes.
    """
    existing = [f for f in files if f.exists()]
    if not existing:
        return dt.date(1970, 1, 1)
    stamp = _git_timestamp(existing)
    if stamp is None:
        stamp = max(f.stat().st_mtime for f in existing)
    return dt.datetime.fromtimestamp(stamp, dt.UTC).date()


def _git_timestamp(files: list[Path]) -> float | None:
    """The last commit time of ``files`` if all are tracked and unmodified, else None."""
    cwd = files[0].parent
    names = [str(f.resolve()) for f in files]
    try:
        status = subprocess.run(
            ["git", "status", "--porcelain", "--ignored", "--", *names],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=10,
        )
        if status.returncode != 0 or status.stdout.strip():
            return None
        log = subprocess.run(
            ["git", "log", "-1", "--format=%ct", "--", *names], cwd=cwd, capture_output=True, text=True, timeout=10
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return float(log.stdout.strip()) if log.returncode == 0 and log.stdout.strip() else None


def content_hash(root: Path, read: Read, edition: dt.date) -> str:
    """sha256 over every byte that shapes the output: the sources and theme files as they were
    read and validated (not read again, which a file changed meanwhile would make differ), and the edition."""
    h = hashlib.sha256(b"briefkit-source-1\0" + edition.isoformat().encode() + b"\0")
    real_root = Path(os.path.realpath(root))
    named: dict[str, bytes] = {}
    for f, data in read.items():
        real = Path(os.path.realpath(f))  # named from the resolved root: the same through any link
        named[real.relative_to(real_root).as_posix() if real.is_relative_to(real_root) else f.name] = data
    for rel, data in sorted(named.items()):
        h.update(rel.encode() + b"\0" + data + b"\0")
    return h.hexdigest()


def publication_dirs(root: Path) -> list[Path]:
    """Every publication directory under a source directory, by name."""
    if not root.is_dir():
        return []
    return sorted(d for d in root.iterdir() if d.is_dir() and not d.name.startswith("."))


def locate_publication(name: str, source_dir: Path) -> Path:
    """The directory meant by ``name``: a path to a directory, else an id under ``source_dir``."""
    path = Path(name)
    if path.is_dir() or os.sep in name:
        return path
    return source_dir / name
