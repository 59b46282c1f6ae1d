"""Typed diagnostics: every problem briefkit finds in a publication is one of these.

Each rule has a stable code (BKnnn) listed in RULES, so tools, tests and editors can
rely on it; the JSON form (``Diagnostic.to_json``) is the documented machine schema.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from pathlib import Path


class Severity(str, enum.Enum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True)
class Rule:
    code: str
    severity: Severity
    summary: str


def _rules(*rows: tuple[str, Severity, str]) -> dict[str, Rule]:
    return {code: Rule(code, severity, summary) for code, severity, summary in rows}


E, W = Severity.ERROR, Severity.WARNING

# The catalogue. Codes are a contract: never renumber, only add.
RULES: dict[str, Rule] = _rules(
    ("BK100", E, "source path is not a publication directory"),
    ("BK101", E, "publication.yaml is missing"),
    ("BK102", E, "YAML is not valid"),
    ("BK103", E, "file is not valid UTF-8"),
    ("BK104", E, "control character in text"),
    ("BK105", E, "unknown key"),
    ("BK106", E, "title is missing or empty"),
    ("BK107", E, "passage body is empty"),
    ("BK108", E, "duplicate passage id"),
    ("BK109", E, "id is not a lower-case slug"),
    ("BK110", E, "passages: names a missing passage"),
    ("BK111", E, "passage file not listed in passages:"),
    ("BK112", E, "unsupported Markdown construct"),
    ("BK113", E, "link target is not http(s) or mailto"),
    ("BK114", E, "file is over the size limit"),
    ("BK115", E, "publication has no passages"),
    ("BK116", E, "value has the wrong type or form"),
    ("BK117", E, "front matter is missing or not closed"),
    ("BK118", E, "file missing or unreadable: a passage, or one the publication refers to"),
    ("BK119", E, "theme file is not a usable PNG/JPEG logo or Word reference document"),
    ("BK120", E, "reader address is not a valid email address"),
    ("BK121", E, "reader asks for an unknown format"),
    ("BK122", E, "reader address is listed twice"),
    ("BK123", E, "reader has no address"),
    ("BK124", E, "MIME encoded word in a one-line field (mail header injection)"),
    ("BK125", E, "invisible formatting character in a one-line field (bidi control, zero-width, tag)"),
    ("BK126", E, "one-line field is over its length limit"),
    ("BK127", E, "source or theme file leads outside the publication directory"),
    ("BK128", E, "footnote referenced but not defined"),
    ("BK129", E, "footnote defined but never referenced"),
    ("BK130", E, "footnote defined twice"),
    ("BK131", E, "image without alt text"),
    ("BK132", E, "image is not a usable PNG/JPEG figure"),
    ("BK133", E, "table row too large for a page"),
    ("BK134", E, "timezone is not an IANA time zone name"),
    ("BK135", E, "theme colour too light to read on white"),
    ("BK201", W, "sentence over the word limit"),
    ("BK202", W, "passage over the word limit"),
    ("BK203", W, "repeated word"),
    ("BK204", W, "doubled space"),
    ("BK205", W, "passage has no summary"),
    ("BK206", W, "provisional title needs an editor"),
    ("BK207", W, "characters the PDF font cannot draw"),
)


@dataclass(frozen=True)
class Diagnostic:
    """One finding. ``line`` and ``column`` are 1-based; 0 means the whole file."""

    code: str
    file: Path
    message: str
    hint: str
    line: int = 0
    column: int = 0

    @property
    def severity(self) -> Severity:
        return RULES[self.code].severity

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR

    def location(self) -> str:
        where = str(self.file)
        if self.line:
            where += f":{self.line}"
            if self.column:
                where += f":{self.column}"
        return where

    def __str__(self) -> str:
        return f"{self.location()}: {self.severity.value} {self.code}: {self.message} (fix: {self.hint})"

    def to_json(self) -> dict[str, str | int]:
        """The documented JSON schema of ``briefkit validate --format json``."""
        return {
            "code": self.code,
            "severity": self.severity.value,
            "file": str(self.file),
            "line": self.line,
            "column": self.column,
            "message": self.message,
            "hint": self.hint,
        }


def has_errors(diagnostics: list[Diagnostic]) -> bool:
    return any(d.is_error for d in diagnostics)
