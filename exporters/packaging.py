"""Byte-reproducible files: atomic writes and zip re-packing with fixed entry metadata.

python-docx and ebooklib stamp zip entries with the wall clock; re-packing every entry
with one fixed date, in a fixed order, makes the same input give the same bytes.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path

FIXED_ZIP_DATE = (1980, 1, 1, 0, 0, 0)  # the earliest date a zip entry can carry


@contextlib.contextmanager
def atomic_path(dest: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``dest``; on success it replaces ``dest`` in one step.

    A failed or interrupted export therefore never leaves a truncated file at ``dest``.
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".tmp", dir=dest.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.replace(tmp, dest)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def repack_zip(source: Path, dest: Path, stored: tuple[str, ...] = ()) -> None:
    """Copy zip ``source`` to ``dest`` with fixed dates and permissions, entries in their order.

    Names in ``stored`` are written uncompressed (EPUB requires this of ``mimetype``).
    """
    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(dest, "w") as zout:
        for item in zin.infolist():
            info = zipfile.ZipInfo(item.filename, date_time=FIXED_ZIP_DATE)
            info.compress_type = zipfile.ZIP_STORED if item.filename in stored else zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            info.create_system = 3  # unix, whatever machine builds it
            zout.writestr(info, zin.read(item.filename), compresslevel=9 if info.compress_type else None)
