"""Loading a publication directory into the model, collecting diagnostics on the way.

``load_publication`` never raises on bad input: every problem becomes a Diagnostic with a
file, line and fix, and the model is returned only when there are no errors.
"""

from __future__ import annotations

import datetime as dt
import difflib
import hashlib
import os
import re
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, fields, replace
from pathlib import Path

from briefkit import style
from briefkit.cron import cron_problem
from briefkit.diagnostics import Diagnostic, has_errors
from briefkit.fonts import coverage, find_family, installed_families
from briefkit.markdown import parse_body
from briefkit.model import DRAFT, FINAL, Passage, Publication, Theme, block_texts, squash
from briefkit.settings import Settings, get_settings
from briefkit.yamldoc import YamlDoc, YamlError, parse_yaml

PUBLICATION_FILE = "publication.yaml"
PASSAGES_DIR = "passages"

PUBLICATION_KEYS = (
    "title", "subtitle", "language", "organisation", "authors", "edition", "classification",
    "description", "passages", "theme", "schedule", "formats", "readers", "status", "strict",
)  # fmt: skip
PASSAGE_KEYS = ("title", "id", "summary", "tags", "provisional_title")
THEME_KEYS = tuple(f.name for f in fields(Theme))

SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_LANGUAGE = re.compile(r"^[A-Za-z]{2,3}(?:-[A-Za-z0-9]{1,8})*$")
_COLOR = re.compile(r"^#[0-9A-Fa-f]{6}$")
_PAGE_SIZES = ("A4", "Letter")
_NUMERIC_PREFIX = re.compile(r"^\d+[-_.]?")
# Text that XML and Word refuse, besides C0/C1 controls: non-characters.
NONCHARACTERS = frozenset({0xFFFE, 0xFFFF, *range(0xFDD0, 0xFDF0)})
# Controls (category Cc) but tab and newline, surrogates (Cs), non-characters: one regex,
# because a character-by-character scan was a third of loading a large publication.
_FORBIDDEN = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff" + "".join(map(chr, sorted(NONCHARACTERS))) + "]")


def is_forbidden_char(ch: str) -> bool:
    return _FORBIDDEN.fullmatch(ch) is not None


# ---- reading files ------------------------------------------------------------------


def read_source(path: Path, limit: int, diags: list[Diagnostic]) -> str | None:
    """A source file as text with LF line ends, or None after reporting why not."""
    try:
        size = path.stat().st_size
        if size > limit:
            diags.append(Diagnostic(
                "BK114", path, f"file is {size:,} bytes, over the limit of {limit:,}",
                "split it into smaller passages, or raise BRIEFKIT_MAX_FILE_BYTES",
            ))  # fmt: skip
            return None
        raw = path.read_bytes()
    except IsADirectoryError:
        diags.append(
            Diagnostic(
                "BK118",
                path,
                "a directory where a file is expected",
                "move it out, or rename it so that it does not end in .md",
            )
        )
        return None
    except OSError as exc:
        diags.append(Diagnostic(
            "BK118", path, f"cannot read file: {exc.strerror}",
            "check that it exists (a symbolic link must point to a file) and that it is readable",
        ))  # fmt: skip
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
                "BK105", self.file, f"unknown key '{key}' in {where}", hint,
                self._key_line(str(key)), 1,
            ))  # fmt: skip

    def _key_line(self, key: str) -> int:
        line = self.doc.key_line(key, *self.prefix)
        return line + self.offset if line else 0

    def text(self, key: str, default: str = "") -> str:
        value = self.mapping.get(key)
        if value is None:
            return default
        if isinstance(value, (dict, list, bool)):
            self.report("BK116", key, f"'{key}' must be text", f"write {key}: followed by plain text")
            return default
        text = str(value).strip()
        check_control_chars(text, self.file, self.line(key), self.diags)
        return text

    def strings(self, key: str) -> tuple[str, ...]:
        value = self.mapping.get(key)
        if value is None:
            return ()
        if not isinstance(value, list) or any(isinstance(v, (dict, list)) or v is None for v in value):
            self.report("BK116", key, f"'{key}' must be a list of text", f"write {key}: [first, second]")
            return ()
        items = tuple(str(v).strip() for v in value)
        for item in items:
            check_control_chars(item, self.file, self.line(key), self.diags)
        return items

    def required_title(self) -> str:
        title = self.text("title")
        if not title:
            line = self.line("title") or self.offset + 1
            self.diags.append(
                Diagnostic("BK106", self.file, "title is missing or empty", "add a line: title: ...", line, 1)
            )
        return title


def _parse_mapping(text: str, file: Path, offset: int, diags: list[Diagnostic]) -> _Fields | None:
    parsed = parse_yaml(text)
    if isinstance(parsed, YamlError):
        diags.append(Diagnostic(
            "BK102", file, f"YAML is not valid: {parsed.problem}",
            "fix the YAML syntax at this line (check indentation, colons and quotes)",
            parsed.line + offset, parsed.column,
        ))  # fmt: skip
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
    path: Path, settings: Settings, drawable: frozenset[int] | None, diags: list[Diagnostic]
) -> Passage | None:
    text = read_source(path, settings.max_file_bytes, diags)
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
    if not SLUG.match(passage_id):
        line = meta.line("id") or 1
        diags.append(Diagnostic(
            "BK109", path, f"passage id '{passage_id}' is not a lower-case slug",
            "use lower-case letters, digits and single hyphens, e.g. nato-support", line, 1,
        ))  # fmt: skip
    title = meta.required_title()
    provisional = meta.mapping.get("provisional_title") is True
    blocks, body_diags = parse_body(body, path, body_line)
    diags.extend(body_diags)
    texts = block_texts(blocks)
    if not squash(" ".join(texts)) and not body_diags:
        diags.append(
            Diagnostic(
                "BK107", path, "passage body is empty", "write the passage text below the closing '---'", body_line, 1
            )
        )
    passage = Passage(
        id=passage_id,
        title=title,
        summary=meta.text("summary"),
        tags=meta.strings("tags"),
        blocks=blocks,
        file=path,
        body_line=body_line,
        provisional_title=provisional,
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
    if not yaml_path.is_file():
        diags.append(
            Diagnostic(
                "BK101", yaml_path, f"{PUBLICATION_FILE} is missing", "create it with at least a line: title: ..."
            )
        )
        return None, diags
    if not SLUG.match(root.name):
        diags.append(Diagnostic(
            "BK109", root, f"publication id '{root.name}' (the directory name) is not a lower-case slug",
            "rename the directory to lower-case letters, digits and single hyphens",
        ))  # fmt: skip
    text = read_source(yaml_path, settings.max_file_bytes, diags)
    meta = _parse_mapping(text, yaml_path, 0, diags) if text is not None else None
    if meta is None:
        return None, diags
    meta.check_keys(PUBLICATION_KEYS, PUBLICATION_FILE)

    theme = _theme(meta, root)
    family = find_family(theme.font)
    drawable = coverage(family) if family else None
    passage_files = list_passage_files(root)
    loaded = [p for f in passage_files if (p := _load_passage(f, settings, drawable, diags)) is not None]
    passages = _order(loaded, passage_files, meta, diags)
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
    edition = _edition(meta, [yaml_path, *passage_files, *_assets(theme)])
    schedule = meta.text("schedule")
    if schedule and (problem := cron_problem(schedule)):
        meta.report(
            "BK116",
            "schedule",
            f"schedule '{schedule}' is not a cron expression: {problem}",
            'write e.g. schedule: "0 6 * * 1-5" (06:00 on weekdays)',
        )
    formats = _formats(meta, known_formats)
    status = meta.text("status", FINAL)
    if status not in (FINAL, DRAFT):
        meta.report(
            "BK116", "status", f"status '{status}' is not final or draft", "write status: draft or status: final"
        )
    strict = meta.mapping.get("strict", False)
    if not isinstance(strict, bool):
        meta.report("BK116", "strict", "'strict' must be true or false", "write strict: true")
    publication = Publication(
        id=root.name,
        title=meta.required_title(),
        subtitle=meta.text("subtitle"),
        language=language,
        organisation=meta.text("organisation"),
        authors=meta.strings("authors"),
        edition=edition,
        classification=meta.text("classification"),
        description=meta.text("description"),
        passages=tuple(passages),
        source_dir=root,
        content_hash="",  # below, once every source has been read without error
        theme=theme,
        schedule=schedule,
        formats=formats,
        status=status,
        strict=strict is True,
        extra=tuple((k, meta.mapping[k]) for k in ("readers",) if k in meta.mapping),
    )
    diags.sort(key=lambda d: (str(d.file), d.line, d.column, d.code))
    if has_errors(diags):
        return None, diags
    return replace(
        publication, content_hash=content_hash(root, [yaml_path, *passage_files, *_assets(theme)], edition)
    ), diags


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


def _theme(meta: _Fields, root: Path) -> Theme:
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
    page_size = sub.text("page_size", default.page_size)
    if page_size not in _PAGE_SIZES:
        sub.report(
            "BK116",
            "page_size",
            f"page_size '{page_size}' is not one of {', '.join(_PAGE_SIZES)}",
            "write page_size: A4 or page_size: Letter",
        )
    assets: dict[str, Path | None] = {}
    for key in ("logo", "reference_docx"):
        rel = sub.text(key)
        assets[key] = (root / rel) if rel else None
        if rel and not (root / rel).is_file():
            sub.report(
                "BK118", key, f"{key} file '{rel}' does not exist", "give a path relative to the publication directory"
            )
    return Theme(font=font, page_size=page_size, **colors, **assets)


def _assets(theme: Theme) -> list[Path]:
    return [p for p in (theme.logo, theme.reference_docx) if p is not None and p.is_file()]


def _edition(meta: _Fields, files: list[Path]) -> dt.date:
    value = meta.mapping.get("edition")
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if value is not None:
        try:
            return dt.date.fromisoformat(str(value))
        except ValueError:
            meta.report(
                "BK116",
                "edition",
                f"edition '{value}' is not an ISO date",
                "write edition: 2025-03-01, or remove it to use the sources' date",
            )
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


def content_hash(root: Path, files: list[Path], edition: dt.date) -> str:
    """sha256 over every byte that shapes the output: sources, theme assets, edition."""
    h = hashlib.sha256(b"briefkit-source-1\0" + edition.isoformat().encode() + b"\0")
    for f in sorted(set(files)):
        rel = f.relative_to(root).as_posix() if f.is_relative_to(root) else f.name
        h.update(rel.encode() + b"\0" + f.read_bytes() + b"\0")
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
