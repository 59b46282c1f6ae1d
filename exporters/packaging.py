"""Byte-reproducible files: zip re-packing with fixed entry metadata.

python-docx and ebooklib stamp zip entries with the wall clock; re-packing every entry
with one fixed date, in a fixed order, makes the same input give the same bytes.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

from briefkit.atomic import atomic_path

__all__ = ["FIXED_ZIP_DATE", "atomic_path", "repack_zip"]

FIXED_ZIP_DATE = (1980, 1, 1, 0, 0, 0)  # the earliest date a zip entry can carry


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
