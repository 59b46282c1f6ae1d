"""The published layout and its manifest: what the build writes and distribution reads.

    output/<publication-id>/<edition>/   the files of one edition, plus manifest.json
    output/<publication-id>/latest       symlink to the newest final (not draft) edition

An edition is named by its date, ``2026-12-03``; new content on a day that already has one
is a new revision beside it, ``2026-12-03-r2``, ``-r3``...: a published edition never changes.
manifest.json is the contract between the build flow and the portal and mailer: file
names, formats, sizes and checksums, the source content hash, the briefkit version, the
revision, the edition it corrects and the status (final or draft).
Readers trust only what briefkit makes: edition directories are real directories named
by their edition id (never links, dot-names or leftovers of an interrupted run), ``latest``
is a link to one of them, and a manifest is checked (load_manifest) before it is used.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import mimetypes
import os
import re
import stat
from dataclasses import asdict, dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from briefkit.model import DRAFT, FINAL, SLUG

MANIFEST = "manifest.json"
LATEST = "latest"
SCHEMA = 1
RESERVED_IDS = frozenset({"site"})  # output/site is the portal's default web root, never a publication
EDITION_NAME = re.compile(r"^(\d{4}-\d{2}-\d{2})(?:-r([2-9]|[1-9]\d+))?$")  # a date, then -r2, -r3...
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
# What the loader refuses in text (controls but tab and newline, surrogates, U+FFFE/U+FFFF);
# a one-line value (a title, a name: what may go into a mail header) also no line break at all
_CONTROL_IN_TEXT = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
_CONTROL_IN_LINE = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff\ufffe\uffff]")
_PROSE = frozenset({"subtitle", "description", "summary"})  # values that may run over lines
_PAGE_NAMES = frozenset({MANIFEST, "index.html"})  # an edition's own names, never a published file's


class ManifestError(ValueError):
    """A manifest that is missing, unreadable, or does not describe a safe, complete edition."""


def briefkit_version() -> str:
    try:
        return version("briefkit")
    except PackageNotFoundError:  # running from a checkout that was never installed
        return "0+unknown"


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


@dataclass(frozen=True)
class ManifestFile:
    name: str
    format: str
    bytes: int
    sha256: str
    label: str = ""  # what readers call the format, e.g. "PDF handout"
    media_type: str = "application/octet-stream"


@dataclass(frozen=True)
class PassageSummary:
    id: str
    title: str
    summary: str


@dataclass(frozen=True)
class Manifest:
    publication_id: str
    title: str
    subtitle: str
    description: str
    classification: str
    language: str
    edition: dt.date
    content_hash: str
    briefkit_version: str
    exporter_versions: dict[str, str]
    files: tuple[ManifestFile, ...]
    passages: tuple[PassageSummary, ...]
    timings: dict[str, float] = field(default_factory=dict)  # seconds per step
    revision: int = 1  # 1 for the first edition of its date, 2 for the first correction...
    corrects: str = ""  # the id of the final edition this one replaces, "" for none
    status: str = FINAL  # or DRAFT: built and previewable, never on the public portal nor mailed
    tags: tuple[str, ...] = ()  # the publication's tags (slugs), for the portal's pages per tag
    schema: int = SCHEMA

    @property
    def edition_id(self) -> str:
        """The edition's name, its directory and its URL path: ``2026-12-03``, then ``2026-12-03-r2``."""
        return edition_name(self.edition, self.revision)

    @property
    def is_draft(self) -> bool:
        return self.status == DRAFT

    def file(self, fmt: str) -> ManifestFile | None:
        return next((f for f in self.files if f.format == fmt), None)

    def to_json(self) -> str:
        data = asdict(self)
        data["edition"] = self.edition.isoformat()
        return json.dumps(data, indent=2, ensure_ascii=False, sort_keys=True) + "\n"

    @classmethod
    def from_json(cls, text: str) -> Manifest:
        data = json.loads(text)
        data["edition"] = dt.date.fromisoformat(data["edition"])
        # manifests written before files carried a label and media type get plain ones
        data["files"] = tuple(
            ManifestFile(**{"label": f["format"].upper(), "media_type": _guess_type(f["name"]), **f})
            for f in data["files"]
        )
        data["passages"] = tuple(PassageSummary(**p) for p in data["passages"])
        data["tags"] = tuple(data.get("tags", ()))  # none before tags were kept
        return cls(**data)


def _guess_type(name: str) -> str:
    return mimetypes.guess_type(name)[0] or "application/octet-stream"


def edition_name(day: dt.date, revision: int = 1) -> str:
    return day.isoformat() + (f"-r{revision}" if revision > 1 else "")


def parse_edition_name(name: str) -> tuple[dt.date, int] | None:
    """(date, revision) of an edition directory's name, or None when briefkit would not name one so."""
    if (found := EDITION_NAME.match(name)) is None:
        return None
    try:
        day = dt.date.fromisoformat(found[1])
    except ValueError:  # e.g. 2025-02-30
        return None
    return (day, int(found[2] or 1)) if day.isoformat() == found[1] else None


def publication_root(output: Path, publication_id: str) -> Path:
    return output / publication_id


def edition_dir(output: Path, publication_id: str, edition: str | dt.date) -> Path:
    """The directory of an edition id; a date names that day's first revision."""
    return publication_root(output, publication_id) / (edition if isinstance(edition, str) else edition.isoformat())


def latest_dir(output: Path, publication_id: str) -> Path:
    return publication_root(output, publication_id) / LATEST


def _is_real_dir(path: Path) -> bool:
    try:
        return stat.S_ISDIR(os.lstat(path).st_mode)
    except OSError:
        return False


def is_edition_name(name: str) -> bool:
    """Whether ``name`` is how briefkit names an edition directory: its ISO date, then -rN for a revision."""
    return parse_edition_name(name) is not None


def _problems(m: Manifest) -> list[str]:
    """What makes ``m`` unsafe to publish: wrong types, control characters, file names outside the edition."""
    problems: list[str] = []

    def text(where: str, value: object, prose: bool = False) -> None:
        if not isinstance(value, str):
            problems.append(f"{where} is not text")
        elif (_CONTROL_IN_TEXT if prose else _CONTROL_IN_LINE).search(value):
            problems.append(f"{where} holds a control character")

    for name in ("publication_id", "title", "subtitle", "description", "classification", "language"):
        text(name, getattr(m, name), name in _PROSE)
    text("content_hash", m.content_hash)
    text("briefkit_version", m.briefkit_version)
    if not isinstance(m.publication_id, str) or not m.publication_id or m.publication_id.startswith("."):
        problems.append("publication_id is not a publication id")
    if not isinstance(m.revision, int) or isinstance(m.revision, bool) or m.revision < 1:
        problems.append("revision is not a number from 1")
    if not isinstance(m.corrects, str) or (m.corrects and not is_edition_name(m.corrects)):
        problems.append("corrects is not an edition id")
    if m.status not in (FINAL, DRAFT):
        problems.append(f"status is not {FINAL} or {DRAFT}")
    if not isinstance(m.exporter_versions, dict) or not isinstance(m.timings, dict):
        return [*problems, "exporter_versions or timings is not a mapping"]
    for key, value in m.exporter_versions.items():
        text("a format in exporter_versions", key)
        text(f"the version of {key!r}", value)
    for key in m.timings:
        text("a step in timings", key)
    names = [f.name for f in m.files]
    for f in m.files:
        for attr in ("name", "format", "label", "media_type"):
            text(f"file {f.name!r}: {attr}", getattr(f, attr))
        if isinstance(f.name, str) and ("/" in f.name or "\\" in f.name):
            problems.append(f"file name {f.name!r} holds a path separator")
        elif not isinstance(f.name, str) or not f.name or f.name.startswith(".") or f.name in _PAGE_NAMES:
            problems.append(f"file name {f.name!r} is not a plain file name")
        if not isinstance(f.bytes, int) or isinstance(f.bytes, bool) or f.bytes < 0:
            problems.append(f"file {f.name!r}: bytes is not a size")
        if not isinstance(f.sha256, str) or not _SHA256.match(f.sha256):
            problems.append(f"file {f.name!r}: sha256 is not 64 hex digits")
    if len(set(names)) != len(names) or len({f.format for f in m.files}) != len(m.files):
        problems.append("a file name or format is listed twice")
    if not all(isinstance(t, str) and SLUG.match(t) for t in m.tags):  # a tag names a page of the portal
        problems.append("a tag is not a lower-case slug")
    for p in m.passages:
        for attr in ("id", "title", "summary"):
            text(f"passage {p.id!r}: {attr}", getattr(p, attr), attr in _PROSE)
    return problems


def load_manifest(directory: Path) -> Manifest:
    """The manifest in ``directory``; raises ManifestError saying what is wrong with it."""
    path = directory / MANIFEST
    try:
        m = Manifest.from_json(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ManifestError(f"{path} is missing") from None
    except (OSError, UnicodeError) as exc:
        raise ManifestError(f"{path} cannot be read: {exc}") from None
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ManifestError(f"{path} is not a briefkit manifest: {type(exc).__name__}: {exc}") from None
    if problems := _problems(m):
        raise ManifestError(f"{path}: " + "; ".join(problems))
    return m


def read_manifest(directory: Path) -> Manifest | None:
    """The manifest in ``directory``, or None when there is none or it is unreadable or unsafe."""
    try:
        return load_manifest(directory)
    except ManifestError:
        return None


def edition_dirs(output: Path, publication_id: str, day: dt.date | None = None) -> list[Path]:
    """The publication's edition directories (only ``day``'s, if given), newest (date, revision) first:
    real directories named by their edition id, never links, dot-names or what an interrupted run left."""
    root = publication_root(output, publication_id)
    if not _is_real_dir(root):
        return []
    found = {
        n: key
        for n in os.listdir(root)
        if (key := parse_edition_name(n)) and (day is None or key[0] == day) and _is_real_dir(root / n)
    }
    return [root / n for n in sorted(found, key=found.__getitem__, reverse=True)]


def latest_edition(output: Path, publication_id: str) -> Path | None:
    """The edition directory ``latest`` points at, if it is a link to one of them."""
    link = latest_dir(output, publication_id)
    try:
        target = os.readlink(link)
    except OSError:
        return None
    return link.parent / target if is_edition_name(target) and _is_real_dir(link.parent / target) else None


def published_editions(output: Path, publication_id: str) -> list[Manifest]:
    """Every readable edition of a publication, newest first."""
    return [m for d in edition_dirs(output, publication_id) if (m := read_manifest(d))]


def published_publications(output: Path) -> list[str]:
    """Ids of the publications under ``output`` whose ``latest`` links to an edition directory."""
    if not _is_real_dir(output.resolve()):
        return []
    return sorted(
        n
        for n in os.listdir(output)
        if not n.startswith(".") and _is_real_dir(output / n) and latest_edition(output, n)
    )
