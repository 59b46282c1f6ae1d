"""Reader lists: who receives which formats of a publication, validated like the sources.

Readers are listed under ``readers:`` in publication.yaml, in a ``readers.yaml`` beside it
(kept apart, e.g. out of version control, because it holds personal data), or both:

    readers:
      - name: Ada Lovelace
        address: ada@example.org
        formats: [pdf, epub]      # optional; default every format of the edition
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

from briefkit.diagnostics import Diagnostic
from briefkit.loader import PUBLICATION_FILE, check_line, read_source, shown, yaml_problem
from briefkit.settings import Settings, get_settings
from briefkit.yamldoc import YamlDoc, YamlError, parse_yaml

READERS_FILE = "readers.yaml"
READER_KEYS = ("name", "address", "formats")
LIST_KEYS = ("readers", "editors")

_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
ADDRESS = re.compile(rf"^{_ATOM}(?:\.{_ATOM})*@{_LABEL}(?:\.{_LABEL})+$")


@dataclass(frozen=True)
class Reader:
    name: str
    address: str
    formats: tuple[str, ...] | None  # None: every format of the edition

    def wants(self, available: Collection[str]) -> tuple[str, ...]:
        """The formats to send, in the edition's order, out of ``available``."""
        return tuple(f for f in available if self.formats is None or f in self.formats)


@dataclass
class _Checker:
    """Validates the reader entries of one YAML document, reporting into ``diags``."""

    file: Path
    doc: YamlDoc
    known_formats: Collection[str]
    seen: dict[str, tuple[Path, int]]  # lower-cased address -> where first listed
    diags: list[Diagnostic]
    key: str = "readers"  # or "editors"

    def report(self, code: str, line: int, message: str, hint: str) -> None:
        self.diags.append(Diagnostic(code, self.file, message, hint, line, 1))

    def readers(self, value: object) -> list[Reader]:
        if not isinstance(value, list):
            self.report(
                "BK116",
                self.doc.line(self.key),
                f"'{self.key}' must be a list of addresses",
                f"write {self.key}: then lines '- address: ...'",
            )
            return []
        return [r for n, entry in enumerate(value) if (r := self.reader(n, entry)) is not None]

    def reader(self, n: int, entry: object) -> Reader | None:
        line = self.doc.line(self.key, n)
        if not isinstance(entry, dict):
            self.report(
                "BK116", line, f"reader {n + 1} must be a mapping", "write '- name: ...' with 'address: ...' below it"
            )
            return None
        for key in entry:
            if str(key) not in READER_KEYS:
                close = difflib.get_close_matches(str(key), READER_KEYS, n=1)
                hint = f"did you mean '{close[0]}'?" if close else f"known keys of a reader: {', '.join(READER_KEYS)}"
                self.report(
                    "BK105", self.doc.key_line(str(key), self.key, n), f"unknown key '{shown(key)}' in a reader", hint
                )
        name = self.name(n, entry.get("name"))
        address = self.address(n, entry.get("address"), line)
        formats = self.formats(n, entry.get("formats"))
        if address is None or name is None:
            return None
        return Reader(name, address, formats)

    def text(self, n: int, key: str, line: int) -> str | None:
        """The reader's one-line ``key`` as text, or None after reporting what is wrong with it."""
        text = self.doc.text(self.key, n, key)
        if text is None:
            self.report("BK116", line, f"a reader's {key} must be one line of text", f"write {key}: followed by text")
            return None
        return text.strip() if check_line(text.strip(), key, self.file, line, self.diags) else None

    def name(self, n: int, value: object) -> str | None:
        return "" if value is None else self.text(n, "name", self.doc.line(self.key, n, "name"))

    def address(self, n: int, value: object, entry_line: int) -> str | None:
        line = self.doc.line(self.key, n, "address") or entry_line
        if value is None or not str(value).strip():
            self.report("BK123", line, f"reader {n + 1} has no address", "add address: name@example.org")
            return None
        address = self.text(n, "address", line)
        if address is None:
            return None
        if not ADDRESS.match(address):
            self.report(
                "BK120",
                line,
                f"'{shown(address)}' is not a valid email address",
                "write one plain ASCII address such as name@example.org",
            )
            return None
        key = address.lower()
        if key in self.seen:
            first_file, first_line = self.seen[key]
            self.report(
                "BK122",
                line,
                f"address '{address}' is already listed at {first_file.name}:{first_line}",
                "remove one of the entries",
            )
            return None
        self.seen[key] = (self.file, line)
        return address

    def formats(self, n: int, value: object) -> tuple[str, ...] | None:
        line = self.doc.line(self.key, n, "formats")
        if value is None:
            return None
        if not isinstance(value, list) or not value or any(isinstance(v, (dict, list)) or v is None for v in value):
            self.report(
                "BK116",
                line,
                "'formats' must be a non-empty list of format names",
                "write formats: [pdf, epub], or remove it for every format",
            )
            return None
        names = [str(v).strip() for v in value]
        for i, fmt in enumerate(names):
            if fmt not in self.known_formats:
                close = difflib.get_close_matches(fmt, list(self.known_formats), n=1)
                hint = (
                    f"did you mean '{close[0]}'?"
                    if close
                    else f"known formats: {', '.join(sorted(self.known_formats))}"
                )
                self.report(
                    "BK121", self.doc.line(self.key, n, "formats", i) or line, f"unknown format '{shown(fmt)}'", hint
                )
        return tuple(dict.fromkeys(f for f in names if f in self.known_formats))


def _document(path: Path, settings: Settings, diags: list[Diagnostic]) -> YamlDoc | None:
    text = read_source(path, settings.max_file_bytes, diags, path.parent)
    if text is None:
        return None
    parsed = parse_yaml(text)
    if isinstance(parsed, YamlError):
        diags.append(yaml_problem(parsed, path))
        return None
    if parsed.data is not None and not isinstance(parsed.data, dict):
        diags.append(
            Diagnostic(
                "BK116", path, "YAML must be a mapping of keys to values", "write readers: and a list below it", 1, 1
            )
        )
        return None
    return parsed


def load_readers(
    directory: Path, known_formats: Collection[str], settings: Settings | None = None, key: str = "readers"
) -> tuple[tuple[Reader, ...], list[Diagnostic]]:
    """The readers of the publication in ``directory`` (or, with ``key="editors"``, the editors
    whom a failed scheduled run alerts), with every problem found in them."""
    settings = settings or get_settings()
    diags: list[Diagnostic] = []
    seen: dict[str, tuple[Path, int]] = {}
    readers: list[Reader] = []
    for path in (directory / PUBLICATION_FILE, directory / READERS_FILE):
        # publication.yaml's own problems are the loader's to report, so not twice
        exists = os.path.lexists(path)  # a link or special file too: _document says what is wrong with it
        doc = _document(path, settings, diags if path.name == READERS_FILE else []) if exists else None
        if doc is None or not isinstance(doc.data, dict):
            continue
        if path.name == READERS_FILE:
            for name in doc.data:
                if name not in LIST_KEYS:
                    diags.append(
                        Diagnostic(
                            "BK105",
                            path,
                            f"unknown key '{shown(name)}' in {READERS_FILE}",
                            "the file holds only readers: and editors:",
                            doc.key_line(str(name)),
                            1,
                        )
                    )
        if key in doc.data:
            readers += _Checker(path, doc, known_formats, seen, diags, key).readers(doc.data[key])
    diags.sort(key=lambda d: (str(d.file), d.line, d.column, d.code))
    return tuple(readers), diags
