"""Verification of a written file: read it back and compare it with the canonical text.

Every passage title and body must come back in order, character for character (white
space aside, since layout re-flows it), with no other text inside the passages.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from briefkit.model import Publication, body_texts, squash
from exporters.registry import Exporter, ReadBack


@dataclass  # not frozen: Python and pickling (Dask) set attributes on exceptions
class VerificationError(Exception):
    path: Path
    problems: tuple[str, ...]

    def __str__(self) -> str:
        return f"{self.path.name} failed verification: " + "; ".join(self.problems)


def _first_difference(expected: str, actual: str) -> str:
    i = next((n for n, (a, b) in enumerate(zip(expected, actual)) if a != b), min(len(expected), len(actual)))
    return f"expected …{expected[max(0, i - 20) : i + 20]!r}…, read …{actual[max(0, i - 20) : i + 20]!r}…"


def compare(publication: Publication, read: ReadBack) -> list[str]:
    """How ``read`` differs from the publication's passages."""
    expected = publication.passages
    problems: list[str] = []
    if len(read) != len(expected):
        problems.append(f"{len(read)} passages read back, {len(expected)} expected")
    for passage, (title, body) in zip(expected, read):
        want_body = squash(" ".join(body_texts(passage, publication.language)))
        if squash(title) != squash(passage.title):
            problems.append(f"passage '{passage.id}': title {_first_difference(squash(passage.title), squash(title))}")
        if squash(body) != want_body:
            problems.append(f"passage '{passage.id}': body {_first_difference(want_body, squash(body))}")
    return problems


def read_back_problems(publication: Publication, exporter: Exporter, path: Path) -> list[str]:
    """How ``path``, read back, differs from ``publication`` (the format's check aside)."""
    try:
        return compare(publication, exporter.read_back(path))
    except Exception as exc:  # noqa: BLE001 - an unreadable file is a verification failure, not a crash
        return [f"cannot be read back: {exc}"]


def verify(publication: Publication, exporter: Exporter, path: Path) -> None:
    """Raise VerificationError unless ``path`` reads back as ``publication`` and passes its check."""
    problems = read_back_problems(publication, exporter, path)
    if exporter.check is not None:
        problems += exporter.check(path)
    if problems:
        raise VerificationError(path, tuple(problems))
