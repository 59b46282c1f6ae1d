"""The published layout and its manifest: what the build writes and distribution reads.

    output/<publication-id>/<edition>/   the files of one edition, plus manifest.json
    output/<publication-id>/latest       symlink to the newest good edition

manifest.json is the contract between the build flow and the portal and mailer: file
names, formats, sizes and checksums, the source content hash and the briefkit version.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import mimetypes
from dataclasses import asdict, dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

MANIFEST = "manifest.json"
LATEST = "latest"
SCHEMA = 1


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
    schema: int = SCHEMA

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
        return cls(**data)


def _guess_type(name: str) -> str:
    return mimetypes.guess_type(name)[0] or "application/octet-stream"


def publication_root(output: Path, publication_id: str) -> Path:
    return output / publication_id


def edition_dir(output: Path, publication_id: str, edition: dt.date) -> Path:
    return publication_root(output, publication_id) / edition.isoformat()


def latest_dir(output: Path, publication_id: str) -> Path:
    return publication_root(output, publication_id) / LATEST


def read_manifest(directory: Path) -> Manifest | None:
    """The manifest in ``directory``, or None when there is none or it is unreadable."""
    try:
        return Manifest.from_json((directory / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def published_editions(output: Path, publication_id: str) -> list[Manifest]:
    """Every readable edition of a publication, newest first."""
    root = publication_root(output, publication_id)
    if not root.is_dir():
        return []
    found = [m for d in root.iterdir() if d.name != LATEST and d.is_dir() and (m := read_manifest(d))]
    return sorted(found, key=lambda m: m.edition, reverse=True)


def published_publications(output: Path) -> list[str]:
    """Ids of the publications with a latest edition under ``output``."""
    if not output.is_dir():
        return []
    return sorted(d.name for d in output.iterdir() if (d / LATEST / MANIFEST).is_file())
