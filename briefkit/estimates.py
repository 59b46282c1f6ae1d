"""Cheap guesses about a build, from the source files and the last build's timings.

A build gets ready for work while it validates (starting worker processes, warming up
checks), chooses where its tasks run and how finely to split them; these guesses decide
that. Validation and the up-to-date check in ``briefkit.publishing`` still decide what is
built.
"""

from __future__ import annotations

from pathlib import Path

from briefkit.loader import PUBLICATION_FILE, content_hash, list_passage_files
from briefkit.manifest import latest_dir, read_manifest
from briefkit.settings import get_settings


def looks_unchanged(directory: Path, output: Path) -> bool:
    """A cheap guess, before validation, that the sources are those of the latest edition.

    Their bytes hash as that edition's content hash did (theme assets aside, so a theme
    with a logo always looks changed). Only decisions to get ready early for a build rest
    on it (starting worker processes, warming up checks): validation and ``up_to_date``
    still decide what is built.
    """
    manifest = read_manifest(latest_dir(output, directory.name))
    if manifest is None:
        return False
    try:
        return (
            content_hash(directory, [directory / PUBLICATION_FILE, *list_passage_files(directory)], manifest.edition)
            == manifest.content_hash
        )
    except OSError:  # e.g. no publication.yaml: validation will say so
        return False


def expects_work(directories: list[Path], output: Path, force: bool) -> bool:
    """Whether a build of ``directories`` will likely export anything: forced, or a source changed."""
    return force or not all(looks_unchanged(d, output) for d in directories)


def wants_workers(directories: list[Path]) -> bool:
    """Whether these publications have enough text to be worth worker processes.

    Starting the workers costs about a second of CPU; below ``worker_min_bytes`` of passage
    files the exports, read-backs and checks all take less than that, and run faster in
    threads of the flow process.
    """
    threshold = get_settings().worker_min_bytes
    total = 0
    for directory in directories:
        for passage in list_passage_files(directory):
            try:
                total += passage.stat().st_size
            except OSError:  # gone since listed: validation will say so
                continue
            if total >= threshold:
                return True
    return False


def passage_ranges(count: int, parts: int) -> list[range]:
    """``count`` passages in ``parts`` ranges of (as nearly as may be) equal length, in order."""
    return [range(i * count // parts, (i + 1) * count // parts) for i in range(parts)]


def verification_parts(last_seconds: float, workers: int) -> int:
    """Into how many parts to split the verification of a file whose last read-back took
    ``last_seconds``: one per worker at most, each of at least ``verify_part_seconds`` of
    reading, since each part opens the file again and reads its outline (about 0.1 s for a
    1,000-passage PDF), and is a task of its own."""
    least = get_settings().verify_part_seconds
    return max(1, min(workers, int(last_seconds / least) if least > 0 else workers))
