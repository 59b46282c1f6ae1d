"""Publishing an edition atomically: a lock per publication, staging, swap into place, flip latest.

Readers only ever see complete editions: files are written and verified in a staging
directory under ``output/<id>/.staging/``, which is then renamed to ``output/<id>/<edition>/``
(swapped in one step when that edition already exists) before ``latest`` is re-pointed
with a temporary symlink and ``os.replace``. An interrupted run leaves at most a stale
staging directory, which the next run holding the lock removes.
"""

from __future__ import annotations

import contextlib
import ctypes
import datetime as dt
import errno
import fcntl
import json
import os
import shutil
import socket
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from briefkit.manifest import MANIFEST, Manifest, edition_dir, latest_dir, publication_root, read_manifest
from briefkit.model import Publication

LOCK = ".lock"
STAGING = ".staging"


class PublicationLocked(Exception):
    """Another run holds the publication's lock."""


@dataclass(frozen=True)
class Holder:
    """Who holds a lock; written into the lock file so a second run can name it."""

    pid: int
    host: str
    run: str
    since: str

    def __str__(self) -> str:
        return f"{self.run} (pid {self.pid} on {self.host}, since {self.since})"


@contextlib.contextmanager
def lock(output: Path, publication_id: str, run: str) -> Iterator[Holder]:
    """Hold the publication's lock for the block, or raise PublicationLocked at once.

    flock is released by the kernel when the holder dies, so a crashed run never leaves
    a stale lock behind.
    """
    root = publication_root(output, publication_id)
    root.mkdir(parents=True, exist_ok=True)
    with (root / LOCK).open("a+", encoding="utf-8") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            f.seek(0)
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
    parent = publication_root(output, publication_id) / STAGING
    parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=parent))
    staging.chmod(0o755)  # mkdtemp's 0700 would hide the published edition from readers
    return staging


def clear_staging(output: Path, publication_id: str) -> None:
    """Remove what interrupted runs left behind; call only while holding the lock."""
    shutil.rmtree(publication_root(output, publication_id) / STAGING, ignore_errors=True)


def up_to_date(
    output: Path, publication: Publication, exporter_versions: dict[str, str], briefkit_version: str
) -> Manifest | None:
    """The latest manifest if it already holds these formats built from these sources, else None."""
    latest = latest_dir(output, publication.id)
    manifest = read_manifest(latest)
    if (
        manifest is None
        or manifest.content_hash != publication.content_hash
        or manifest.briefkit_version != briefkit_version
    ):
        return None
    for fmt, want in exporter_versions.items():
        published = manifest.file(fmt)
        if manifest.exporter_versions.get(fmt) != want or published is None:
            return None
        path = latest / published.name
        if not path.is_file() or path.stat().st_size != published.bytes:
            return None
    return manifest


def publish(staging: Path, manifest: Manifest, output: Path) -> Path:
    """Move a complete, verified staging directory into place and point latest at it."""
    (staging / MANIFEST).write_text(manifest.to_json(), encoding="utf-8")
    dest = edition_dir(output, manifest.publication_id, manifest.edition)
    if dest.is_dir():
        _exchange(staging, dest)  # now the old files are in staging
        shutil.rmtree(staging, ignore_errors=True)
    else:
        os.rename(staging, dest)
    link = latest_dir(output, manifest.publication_id)
    tmp = link.with_name(f".{link.name}.{os.getpid()}.tmp")
    with contextlib.suppress(FileNotFoundError):
        tmp.unlink()
    tmp.symlink_to(dest.name, target_is_directory=True)
    os.replace(tmp, link)
    return dest


_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def _exchange(a: Path, b: Path) -> None:
    """Swap two directories in one step (Linux renameat2), so ``b`` never goes missing.

    Where the kernel or file system cannot, fall back to two renames with a moment between.
    """
    libc = ctypes.CDLL(None, use_errno=True)
    renameat2 = getattr(libc, "renameat2", None)
    if renameat2 is not None and renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return
    code = ctypes.get_errno() if renameat2 is not None else errno.ENOSYS
    if code not in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP):
        raise OSError(code, os.strerror(code), str(b))
    aside = a.with_name(a.name + ".old")
    os.rename(b, aside)
    os.rename(a, b)
    os.rename(aside, a)
