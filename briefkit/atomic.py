"""Writing files safely: in one step, and never through a symbolic link briefkit did not make.

Readers see the old file or the new one, never half of one. Below a trusted root (the
output or site directory as given), every directory briefkit writes into and every file it
writes or locks is checked here first: a symbolic link or an entry of the wrong kind that
someone planted (``.lock -> /etc/passwd``) is refused with UnsafePath, never followed.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

_KINDS = {stat.S_IFDIR: "a directory", stat.S_IFREG: "a regular file", stat.S_IFLNK: "a symbolic link"}


class UnsafePath(Exception):
    """A path briefkit would write through is a symbolic link or another kind of file than it makes."""

    def __init__(self, path: Path, found: str) -> None:
        super().__init__(path, found)  # both in args, so that it pickles (from a worker process)
        self.path, self.found = path, found

    def __str__(self) -> str:
        return (
            f"{self.path} is {self.found}, which briefkit did not make; it writes nothing through it: "
            "remove or move it away, then run again"
        )


def check_entry(path: Path, kind: int) -> bool:
    """Whether ``path`` exists as ``kind`` (stat.S_IFDIR, S_IFREG or S_IFLNK), never following a link.

    Raises UnsafePath when it exists as anything else, e.g. a link where a file belongs.
    """
    try:
        found = stat.S_IFMT(os.lstat(path).st_mode)
    except FileNotFoundError:
        return False
    if found != kind:
        raise UnsafePath(path, _KINDS.get(found, "a special file") + f" where {_KINDS[kind]} belongs")
    return True


def _parts(root: Path, path: Path) -> tuple[str, ...]:
    parts = path.relative_to(root).parts
    if any(p in ("..", ".") for p in parts):
        raise ValueError(f"{path} is not a plain path below {root}")
    return parts


def real_dir(root: Path, path: Path) -> Path:
    """Make ``path`` (``root`` or below it) where missing; no directory below ``root`` may be a link.

    ``root`` itself is trusted as given: an output directory may well be a link to a disk.
    """
    root.mkdir(parents=True, exist_ok=True)
    here = root
    for part in _parts(root, path):
        here = here / part
        if not check_entry(here, stat.S_IFDIR):
            with contextlib.suppress(FileExistsError):  # made by a concurrent run: checked below
                here.mkdir()
            check_entry(here, stat.S_IFDIR)
    return path


def real_dir_exists(root: Path, path: Path) -> bool:
    """Whether ``path`` exists as real directories below ``root``; refuses (UnsafePath) a link
    or another kind of file on the way, as real_dir would, but makes nothing."""
    here = root
    for part in _parts(root, path):
        here = here / part
        if not check_entry(here, stat.S_IFDIR):
            return False
    return True


def open_regular(path: Path, flags: int, mode: int = 0o644) -> int:
    """A descriptor of the regular file ``path`` (made if ``flags`` has O_CREAT), opened without
    following a link; raises UnsafePath for a link, another kind of file or a hard-linked one."""
    try:
        fd = os.open(path, flags | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NOCTTY, mode)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise UnsafePath(path, "a symbolic link") from None
        raise
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode) or st.st_nlink > 1:
        os.close(fd)
        raise UnsafePath(path, "a hard link to another file" if stat.S_ISREG(st.st_mode) else "not a regular file")
    return fd


@contextlib.contextmanager
def atomic_path(dest: Path, root: Path | None = None) -> Iterator[Path]:
    """Yield a temporary path beside ``dest``; on success it replaces ``dest`` in one step.

    A failed or interrupted write never leaves a truncated file at ``dest``. The file gets
    the usual 0644 mode (mkstemp's 0600 would hide it from a web server). ``dest`` must not
    be a link; with ``root``, no directory between ``root`` and ``dest`` may be one either.
    """
    if root is None:
        dest.parent.mkdir(parents=True, exist_ok=True)
    else:
        real_dir(root, dest.parent)
    check_entry(dest, stat.S_IFREG)
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".tmp", dir=dest.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, 0o644)
        os.replace(tmp, dest)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
