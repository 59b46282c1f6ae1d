"""Publishing an edition atomically: a lock per publication, staging, swap into place, flip latest.

Readers only ever see complete editions: files are written and verified in a staging
directory under ``output/<id>/.staging/``, which is then renamed to ``output/<id>/<edition>/``
(swapped in one step when that edition already exists) before ``latest`` is re-pointed
with a temporary symlink and ``os.replace``. Nothing is written through a link briefkit
did not make (briefkit.atomic). Whatever an interrupted run leaves (a stale staging
directory, a temporary ``latest`` link, an edition set aside mid-swap) is repaired by
``recover`` at the next run holding the lock, and a retried ``publish`` finishes the job.
"""

from __future__ import annotations

import contextlib
import ctypes
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
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from briefkit.atomic import atomic_path, check_entry, open_regular, real_dir
from briefkit.manifest import (
    LATEST,
    MANIFEST,
    RESERVED_IDS,
    Manifest,
    edition_dir,
    edition_dirs,
    is_edition_name,
    latest_dir,  # noqa: F401 - the build flow calls publishing.latest_dir
    latest_edition,
    publication_root,
    read_manifest,
)
from briefkit.model import Publication

LOCK = ".lock"
STAGING = ".staging"
_TEMP_LINK = re.compile(rf"^\.{LATEST}\.\d+\.tmp$")  # what publish names its new latest link
_ASIDE = re.compile(r"^\.(.+)\.old$")  # .<edition>.old: an edition set aside by the two-rename swap

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

    restored: tuple[str, ...] = ()  # editions put back from where a swap had set them aside
    removed: tuple[str, ...] = ()  # leftovers deleted: superseded copies, temporary links, staging
    relinked: str = ""  # the edition latest points at again, after it was missing or dangling

    def __bool__(self) -> bool:
        return bool(self.restored or self.removed or self.relinked)

    def __str__(self) -> str:
        said = [f"restored edition {e}" for e in self.restored] + [f"removed {n}" for n in self.removed]
        return "; ".join(said + ([f"pointed latest at {self.relinked}"] if self.relinked else [])) or "nothing"


def check_publication_id(publication_id: str) -> None:
    """Raise ReservedPublicationId for an id that would collide with briefkit's own directories."""
    if publication_id in RESERVED_IDS:
        raise ReservedPublicationId(
            f"publication id '{publication_id}' is reserved: output/{publication_id} is the portal's web root; "
            "give the publication another id"
        )


@contextlib.contextmanager
def lock(output: Path, publication_id: str, run: str) -> Iterator[Holder]:
    """Hold the publication's lock for the block, or raise PublicationLocked at once.

    flock is released by the kernel when the holder dies, so a crashed run never leaves
    a stale lock behind. The lock file is opened without following a link (UnsafePath).
    """
    check_publication_id(publication_id)
    root = real_dir(output, publication_root(output, publication_id))
    with open(open_regular(root / LOCK, os.O_RDWR | os.O_CREAT), "r+", encoding="utf-8") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise PublicationLocked(
                f"publication '{publication_id}' is already being built by {_describe(f.read())}; wait for that run to finish (or stop it) and build again"
            ) from None
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

    An edition set aside by the two-rename swap comes back if the swap never put the new one
    in its place, and is deleted if it did; temporary latest links go; a missing or dangling
    latest points at the newest edition again. Running it twice does nothing the second time.
    """
    root = publication_root(output, publication_id)
    if not check_entry(root, stat.S_IFDIR):
        return Recovery()
    restored: list[str] = []
    removed: list[str] = []
    with os.scandir(root) as scan:
        entries = sorted(scan, key=lambda e: e.name)
    for entry in entries:
        aside = _ASIDE.match(entry.name)
        if _TEMP_LINK.match(entry.name) and entry.is_symlink():
            os.unlink(entry.path)
            removed.append(entry.name)
        elif aside and is_edition_name(aside[1]) and entry.is_dir(follow_symlinks=False):
            if check_entry(root / aside[1], stat.S_IFDIR):  # the swap completed: this is the old copy
                shutil.rmtree(entry.path)
                removed.append(entry.name)
            else:
                os.rename(entry.path, root / aside[1])
                restored.append(aside[1])
    relinked = ""
    if latest_edition(output, publication_id) is None:
        newest = next((d for d in edition_dirs(output, publication_id) if read_manifest(d)), None)
        if newest is not None:
            _point_latest(root, newest.name)
            relinked = newest.name
    found = Recovery(tuple(restored), tuple(removed), relinked)
    if found:
        log.warning("publication '%s': an interrupted run was repaired: %s", publication_id, found)
    return found


def clear_staging(output: Path, publication_id: str) -> Recovery:
    """Repair (``recover``) and remove what interrupted runs left behind; call only while holding the lock."""
    found = recover(output, publication_id)
    staging = publication_root(output, publication_id) / STAGING
    if not check_entry(staging, stat.S_IFDIR) or not os.listdir(staging):
        return found
    shutil.rmtree(staging, ignore_errors=True)
    log.info("publication '%s': removed unpublished files from %s", publication_id, staging)
    return Recovery(found.restored, (*found.removed, STAGING), found.relinked)


def up_to_date(
    output: Path, publication: Publication, exporter_versions: dict[str, str], briefkit_version: str
) -> Manifest | None:
    """The latest manifest if it already holds these formats built from these sources, else None."""
    latest = latest_edition(output, publication.id)
    manifest = read_manifest(latest) if latest else None
    if (
        latest is None
        or manifest is None
        or manifest.content_hash != publication.content_hash
        or manifest.briefkit_version != briefkit_version
    ):
        return None
    for fmt, want in exporter_versions.items():
        published = manifest.file(fmt)
        if manifest.exporter_versions.get(fmt) != want or published is None:
            return None
        path = latest / published.name
        if not path.is_file() or path.is_symlink() or path.stat().st_size != published.bytes:
            return None
    return manifest


def publish(staging: Path, manifest: Manifest, output: Path) -> Path:
    """Move a complete, verified staging directory into place and point latest at it.

    Call while holding the lock. Safe to retry after a crash at any point: what an earlier
    attempt left is repaired first (``recover``, logged), and an edition already in place
    with this very manifest is not swapped again.
    """
    pid = manifest.publication_id
    check_publication_id(pid)
    recover(output, pid)
    dest = edition_dir(output, pid, manifest.edition)
    real_dir(output, dest.parent)
    if check_entry(dest, stat.S_IFDIR) and read_manifest(dest) == manifest:
        log.warning("publication '%s': edition %s was already in place", pid, dest.name)
        shutil.rmtree(staging, ignore_errors=True)  # what is left of it is the old copy, or nothing
    else:
        if not check_entry(staging, stat.S_IFDIR):  # never publish an empty edition in its place
            raise FileNotFoundError(errno.ENOENT, "the staging directory to publish is gone", str(staging))
        with atomic_path(staging / MANIFEST, staging) as tmp:
            tmp.write_text(manifest.to_json(), encoding="utf-8")
        if check_entry(dest, stat.S_IFDIR):
            _swap(staging, dest)
        else:
            os.rename(staging, dest)
    _point_latest(dest.parent, dest.name)
    return dest


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


_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def _swap(staging: Path, dest: Path) -> None:
    """Put ``staging`` in the place of the existing edition ``dest``, then delete the old edition.

    Linux's renameat2 exchanges them in one step, so ``dest`` never goes missing. Where the
    kernel or file system cannot, two renames: the old edition is set aside as ``.<edition>.old``
    beside it (not in staging, which a later run clears), where ``recover`` finds it after a crash.
    """
    libc = ctypes.CDLL(None, use_errno=True)
    renameat2 = getattr(libc, "renameat2", None)
    exchanged = (
        renameat2 is not None
        and renameat2(_AT_FDCWD, os.fsencode(staging), _AT_FDCWD, os.fsencode(dest), _RENAME_EXCHANGE) == 0
    )
    if exchanged:
        shutil.rmtree(staging)  # now it holds the old edition
        return
    code = ctypes.get_errno() if renameat2 is not None else errno.ENOSYS
    if code not in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP):
        raise OSError(code, os.strerror(code), str(dest))
    aside = dest.with_name(f".{dest.name}.old")
    os.rename(dest, aside)
    os.rename(staging, dest)
    shutil.rmtree(aside)
