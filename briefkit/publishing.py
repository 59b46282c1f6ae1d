"""Publishing an edition: a lock per publication, staging, a rename into a new directory, flip latest.

Readers only ever see complete editions, and an edition never changes once published: files
are written and verified in a staging directory under ``output/<id>/.staging/``, which is
renamed to a directory no edition had, ``output/<id>/<edition id>/`` (the day's next revision),
before ``latest`` is re-pointed with a temporary symlink and ``os.replace``. Nothing is written
through a link briefkit did not make (briefkit.atomic). Whatever an interrupted run leaves (a
stale staging directory, a temporary ``latest`` link, a latest that missed the newest edition)
is repaired by ``recover`` at the next run holding the lock, and a retried ``publish`` finishes.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import fcntl
import json
import logging
import os
import re
import shutil
import socket
import stat
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

from briefkit.atomic import atomic_path, check_entry, open_regular, real_dir
from briefkit.manifest import (
    LATEST,
    MANIFEST,
    RESERVED_IDS,
    Manifest,
    ManifestFile,
    edition_dir,
    edition_dirs,
    is_edition_name,
    latest_edition,
    parse_edition_name,
    publication_root,
    read_manifest,
    sha256_file,
)
from briefkit.model import Publication

LOCK = ".lock"
STAGING = ".staging"
_TEMP_LINK = re.compile(rf"^\.{LATEST}\.\d+\.tmp$")  # what publish names its new latest link

log = logging.getLogger(__name__)


class PublicationLocked(Exception):
    """Another run holds the publication's lock."""


class ReservedPublicationId(ValueError):
    """The publication id names a directory briefkit keeps for itself (RESERVED_IDS)."""


@dataclass(frozen=True)
class Holder:
    """Who holds a lock; written into the lock file so a second run can name it."""

    pid: int
    host: str
    run: str
    since: str

    def __str__(self) -> str:
        return f"{self.run} (pid {self.pid} on {self.host}, since {self.since})"


@dataclass(frozen=True)
class Recovery:
    """What a run found left behind by an interrupted one, and what it did about it."""

    removed: tuple[str, ...] = ()  # leftovers deleted: temporary links, staging
    relinked: str = ""  # the edition latest points at again, after it was missing, dangling or behind

    def __bool__(self) -> bool:
        return bool(self.removed or self.relinked)

    def __str__(self) -> str:
        said = [f"removed {n}" for n in self.removed]
        return "; ".join(said + ([f"pointed latest at {self.relinked}"] if self.relinked else [])) or "nothing"


@dataclass(frozen=True)
class Edition:
    """One published edition: its directory and its manifest."""

    directory: Path
    manifest: Manifest


def check_publication_id(publication_id: str) -> None:
    """Raise ReservedPublicationId for an id that would collide with briefkit's own directories."""
    if publication_id in RESERVED_IDS:
        raise ReservedPublicationId(
            f"publication id '{publication_id}' is reserved: output/{publication_id} is the portal's web root; "
            "give the publication another id"
        )


@contextlib.contextmanager
def lock(
    output: Path, publication_id: str, run: str, wait: float = 0.0, waiting: Callable[[str], None] | None = None
) -> Iterator[Holder]:
    """Hold the publication's lock for the block; raise PublicationLocked when another run still
    holds it after ``wait`` seconds (by default at once). ``waiting`` is told who holds it, once,
    when the wait begins.

    flock is released by the kernel when the holder dies, so a crashed run never leaves
    a stale lock behind. The lock file is opened without following a link (UnsafePath).
    """
    check_publication_id(publication_id)
    root = real_dir(output, publication_root(output, publication_id))
    with open(open_regular(root / LOCK, os.O_RDWR | os.O_CREAT), "r+", encoding="utf-8") as f:
        deadline, told = time.monotonic() + wait, waiting is None
        while True:
            try:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if (left := deadline - time.monotonic()) <= 0:
                    f.seek(0)
                    waited = f" (waited {wait:g} s)" if wait > 0 else ""
                    raise PublicationLocked(
                        f"publication '{publication_id}' is already being built by {_describe(f.read())}{waited}; wait for that run to finish (or stop it) and build again"
                    ) from None
                if not told:
                    f.seek(0)
                    waiting(_describe(f.read()))  # type: ignore[misc]
                    told = True
                time.sleep(min(0.5, left))  # flock has no timeout: poll
        holder = Holder(os.getpid(), socket.gethostname(), run, dt.datetime.now(dt.UTC).isoformat(timespec="seconds"))
        f.truncate(0)
        f.write(json.dumps(holder.__dict__))
        f.flush()
        try:
            yield holder
        finally:
            f.truncate(0)
            fcntl.flock(f, fcntl.LOCK_UN)


def _describe(text: str) -> str:
    try:
        return str(Holder(**json.loads(text)))
    except (ValueError, TypeError):  # the holder has not written its name yet
        return "another run"


def new_staging(output: Path, publication_id: str) -> Path:
    """A fresh, empty staging directory for one build of the publication."""
    parent = real_dir(output, publication_root(output, publication_id) / STAGING)
    staging = Path(tempfile.mkdtemp(dir=parent))
    staging.chmod(0o755)  # mkdtemp's 0700 would hide the published edition from readers
    return staging


def recover(output: Path, publication_id: str) -> Recovery:
    """Repair what an interrupted publish left, without touching staging; call only while holding the lock.

    Temporary latest links go; a latest that is missing, dangling or not at the newest final
    edition (a crash between the rename and the flip) points at it again. Running it twice
    does nothing the second time.
    """
    root = publication_root(output, publication_id)
    if not check_entry(root, stat.S_IFDIR):
        return Recovery()
    with os.scandir(root) as scan:
        removed = sorted(e.name for e in scan if _TEMP_LINK.match(e.name) and e.is_symlink())
    for name in removed:
        os.unlink(root / name)
    newest = newest_final(output, publication_id)
    current = latest_edition(output, publication_id)
    relinked = ""
    if newest is not None and (current is None or current.name != newest.directory.name):
        _point_latest(root, newest.directory.name)
        relinked = newest.directory.name
    found = Recovery(tuple(removed), relinked)
    if found:
        log.warning("publication '%s': an interrupted run was repaired: %s", publication_id, found)
    return found


def newest_final(output: Path, publication_id: str) -> Edition | None:
    """The newest edition by (date, revision) that is not a draft: where latest points."""
    for directory in edition_dirs(output, publication_id):
        if (m := read_manifest(directory)) is not None and not m.is_draft:
            return Edition(directory, m)
    return None


def current_edition(output: Path, publication_id: str, day: dt.date) -> Edition | None:
    """The day's newest revision, draft or final: what a new build of that day follows, or is."""
    for directory in edition_dirs(output, publication_id, day)[:1]:
        if (m := read_manifest(directory)) is not None:
            return Edition(directory, m)
    return None


def clear_staging(output: Path, publication_id: str) -> Recovery:
    """Repair (``recover``) and remove what interrupted runs left behind; call only while holding the lock."""
    found = recover(output, publication_id)
    staging = publication_root(output, publication_id) / STAGING
    if not check_entry(staging, stat.S_IFDIR) or not os.listdir(staging):
        return found
    shutil.rmtree(staging, ignore_errors=True)
    log.info("publication '%s': removed unpublished files from %s", publication_id, staging)
    return Recovery((*found.removed, STAGING), found.relinked)


def reusable(
    output: Path, publication: Publication, exporter_versions: dict[str, str], briefkit_version: str
) -> dict[str, ManifestFile]:
    """The files of the day's current edition that these sources, exporters and briefkit would make
    again: same content hash and versions, the file in place with its size and sha256."""
    current = current_edition(output, publication.id, publication.edition)
    if current is None:
        return {}
    m = current.manifest
    if m.content_hash != publication.content_hash or m.briefkit_version != briefkit_version:
        return {}
    found: dict[str, ManifestFile] = {}
    for fmt, want in exporter_versions.items():
        f = m.file(fmt)
        if f is not None and m.exporter_versions.get(fmt) == want and _intact(current.directory / f.name, f):
            found[fmt] = f
    return found


def _intact(path: Path, f: ManifestFile) -> bool:
    return path.is_file() and not path.is_symlink() and path.stat().st_size == f.bytes and sha256_file(path) == f.sha256


def up_to_date(
    output: Path, publication: Publication, exporter_versions: dict[str, str], briefkit_version: str
) -> Edition | None:
    """The day's current edition if it holds exactly these formats, every one reusable, else None."""
    current = current_edition(output, publication.id, publication.edition)
    found = reusable(output, publication, exporter_versions, briefkit_version)
    if current is None or found.keys() != exporter_versions.keys() or len(current.manifest.files) != len(found):
        return None
    return current


def carry_over(output: Path, publication_id: str, edition_id: str, f: ManifestFile, staging: Path) -> Path:
    """Copy ``f`` from a published edition into staging, byte for byte; ValueError unless its sha256 matches."""
    path = staging / f.name
    shutil.copyfile(edition_dir(output, publication_id, edition_id) / f.name, path)
    if sha256_file(path) != f.sha256:  # checked under the lock just before: someone changed a published file
        raise ValueError(f"{f.name} in edition {edition_id} no longer matches the sha256 in its manifest")
    return path


def same_content(a: Manifest, b: Manifest) -> bool:
    """Whether two manifests give readers the same thing: sources and every file byte for byte."""
    return a.content_hash == b.content_hash and a.status == b.status and set(a.files) == set(b.files)


def publish(staging: Path, manifest: Manifest, output: Path) -> tuple[Edition, bool]:
    """Move a complete, verified staging directory into a new edition directory; point latest at it
    when it is the newest final edition. Returns the edition and whether it is new.

    Call while holding the lock. The revision and what it corrects are chosen here: the day's
    next revision, correcting the day's newest final edition. When the day's current edition
    already holds the same content (files byte for byte: an unchanged rebuild, or a retry after a
    crash) nothing is published and that edition is returned. An existing edition directory is
    never replaced. What an earlier attempt left is repaired first (``recover``, logged).
    """
    pid = manifest.publication_id
    check_publication_id(pid)
    recover(output, pid)
    current = current_edition(output, pid, manifest.edition)
    if current is not None and same_content(current.manifest, manifest):
        shutil.rmtree(staging, ignore_errors=True)
        _relink(output, pid)
        return current, False
    if not check_entry(staging, stat.S_IFDIR):  # never publish an empty edition
        raise FileNotFoundError(errno.ENOENT, "the staging directory to publish is gone", str(staging))
    day = edition_dirs(output, pid, manifest.edition)  # newest revision first
    revision = 1 + (parse_edition_name(day[0].name) or (manifest.edition, 0))[1] if day else 1
    corrected = next((m.edition_id for d in day if (m := read_manifest(d)) and not m.is_draft), "")
    numbered = replace(manifest, revision=revision, corrects=corrected)
    dest = edition_dir(output, pid, numbered.edition_id)
    real_dir(output, dest.parent)
    if check_entry(dest, stat.S_IFDIR):  # rename would replace an empty directory: never replace an edition
        raise FileExistsError(errno.EEXIST, "an edition is already there; published editions never change", str(dest))
    with atomic_path(staging / MANIFEST, staging) as tmp:
        tmp.write_text(numbered.to_json(), encoding="utf-8")
    os.rename(staging, dest)
    _relink(output, pid)
    return Edition(dest, numbered), True


def _relink(output: Path, publication_id: str) -> None:
    """Point latest at the newest final edition, if there is one."""
    if (newest := newest_final(output, publication_id)) is not None:
        _point_latest(newest.directory.parent, newest.directory.name)


def _point_latest(root: Path, edition: str) -> None:
    """Re-point ``root/latest`` at ``edition`` in one step; refuses a latest that is not a link."""
    assert is_edition_name(edition), edition
    link = root / LATEST
    check_entry(link, stat.S_IFLNK)
    tmp = root / f".{LATEST}.{os.getpid()}.tmp"
    if check_entry(tmp, stat.S_IFLNK):
        tmp.unlink()
    tmp.symlink_to(edition, target_is_directory=True)
    os.replace(tmp, link)
