"""A format check run by a long-lived process that every command on the machine shares.

Some checks pay seconds of start-up before their first file (epubcheck: starting a JVM and
compiling EPUBCheck's schemas, about 4 CPU-seconds). Paid in every ``briefkit build``, that
start-up competed with the exporters for the cores; paid once by a daemon, as Gradle keeps
its daemon, later builds only wait for the check itself.

``ask`` sends a file to the daemon for a check function (named "module:function") and
returns its problems, starting the daemon when none answers. The daemon listens on a Unix
socket in a directory only this user may enter, answers one request at a time, and exits
after ``idle`` seconds without one. It runs at a low CPU priority (``NICE``): a build's
checks seldom lie on its longest path, and one running beside the exporters must not take
their cores; on an idle machine it runs at full speed all the same. Its socket name hashes
everything its answers depend on (the function's module, this module, the Python running
it, and the caller's key), so a changed installation gets a new daemon while the old one
idles out. ``ask`` returns None when the daemon cannot be used, and callers then run the
check in their own process.

    python -m exporters.check_daemon MODULE:FUNCTION SOCKET IDLE   (started by ask)
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import importlib
import importlib.util
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from briefkit.settings import get_settings

START_SECONDS = 10.0  # for a started daemon to listen; then the caller checks by itself
ANSWER_SECONDS = 600.0  # for an answer; a daemon that hangs must not hang every build
REQUEST_SECONDS = 30.0  # for a connected client to send its request
_PROTOCOL = "1"  # bump when requests or answers change shape
NICE = 10  # the daemon's CPU priority; its process's, and its session's where Linux groups by session


def runtime_dir() -> Path | None:
    """The user-only directory for daemon sockets, made if missing; None if it is not safe."""
    configured = get_settings().runtime_dir
    if configured is not None:
        directory = configured
    elif xdg := os.environ.get("XDG_RUNTIME_DIR"):
        directory = Path(xdg) / "briefkit"
    else:
        directory = Path(tempfile.gettempdir()) / f"briefkit-{os.getuid()}"
    try:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        info = directory.lstat()
    except OSError:
        return None
    # Another user's directory, or one others may write to, could hold a false daemon.
    if info.st_uid != os.getuid() or info.st_mode & 0o077 or not directory.is_dir() or directory.is_symlink():
        return None
    return directory


def socket_path(target: str, key: tuple[str, ...]) -> Path | None:
    directory = runtime_dir()
    if directory is None:
        return None
    module = importlib.util.find_spec(target.partition(":")[0])
    parts = [_PROTOCOL, target, sys.prefix, sys.version, *key]
    for file in (Path(__file__), Path(module.origin) if module and module.origin else None):
        if file is not None:
            stat = file.stat()
            parts += [str(file), str(stat.st_size), str(stat.st_mtime_ns)]
    digest = hashlib.sha256("\0".join(parts).encode()).hexdigest()[:16]
    name = target.replace(":", "-").rsplit(".", 1)[-1]
    return directory / f"{name}-{digest}.sock"


def ask(target: str, key: tuple[str, ...], path: Path, idle: float) -> list[str] | None:
    """The problems the daemon for ``target`` finds in ``path``; None if no daemon can answer."""
    where = socket_path(target, key)
    if where is None:
        return None
    for _ in range(2):  # a daemon may exit (idle, killed) between our connect and its answer
        try:
            with _connect(where, target, idle) as conn:
                conn.settimeout(ANSWER_SECONDS)
                conn.sendall(json.dumps({"check": str(path.resolve())}).encode() + b"\n")
                return list(json.loads(_read_all(conn))["problems"])
        except TimeoutError:
            return None
        except (OSError, ValueError, KeyError, TypeError):
            continue
    return None


def stop(where: Path) -> bool:
    """Ask the daemon at ``where`` to exit; False if none answered."""
    try:
        with socket.socket(socket.AF_UNIX) as conn:
            conn.connect(str(where))
            conn.sendall(b'{"stop": true}\n')
            _read_all(conn)
    except OSError:
        return False
    return True


@contextlib.contextmanager
def _connect(where: Path, target: str, idle: float) -> Iterator[socket.socket]:
    conn = socket.socket(socket.AF_UNIX)
    try:
        try:
            conn.connect(str(where))
        except OSError:
            _start(where, target, idle)
            deadline = time.monotonic() + START_SECONDS
            while True:
                try:
                    conn.connect(str(where))
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.02)
        yield conn
    finally:
        conn.close()


def _start(where: Path, target: str, idle: float) -> None:
    """Start a daemon, detached: its own session, no inherited output, a log beside it.

    The process started here forks the daemon and exits at once (see the end of this
    module), so the daemon is nobody's child: it never lingers as a zombie of the command
    that started it, nor is it killed with that command's process group.
    """
    package_root = str(Path(__file__).resolve().parent.parent)
    env = os.environ | {"PYTHONPATH": os.pathsep.join(filter(None, [package_root, os.environ.get("PYTHONPATH")]))}
    with open(where.with_suffix(".log"), "wb") as log:
        subprocess.run(
            [sys.executable, "-m", "exporters.check_daemon", target, str(where), str(idle)],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            cwd="/",
            env=env,
            start_new_session=True,
            close_fds=True,
            timeout=START_SECONDS,
            check=False,
        )


def _read_all(conn: socket.socket) -> bytes:
    chunks = []
    while chunk := conn.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


def _lower_priority() -> None:
    """Run at ``NICE``. With Linux's autogroup scheduling (the usual desktop and server
    setting) a process's nice value only ranks it within its session, and the daemon has a
    session of its own (see _start), which otherwise competes for the cores as an equal of
    the whole build; so the session's own nice value is set too, where the kernel has one."""
    with contextlib.suppress(OSError):
        os.setpriority(os.PRIO_PROCESS, 0, max(NICE, os.getpriority(os.PRIO_PROCESS, 0)))
    for _ in range(5):
        try:
            Path("/proc/self/autogroup").write_text(f"{NICE}\n")
            return
        except BlockingIOError:  # without CAP_SYS_ADMIN, ten such writes a second, system-wide
            time.sleep(0.1)
        except OSError:  # no autogroups here
            return


def serve(target: str, where: Path, idle: float) -> None:
    """Answer checks on ``where`` until ``idle`` seconds pass without a request."""
    module, _, name = target.partition(":")
    check: Callable[[Path], list[str]] = getattr(importlib.import_module(module), name)
    with open(where.with_suffix(".lock"), "w") as lock:
        if not _lock(lock):
            return  # another daemon serves this socket
        where.unlink(missing_ok=True)  # left by a daemon that was killed
        with socket.socket(socket.AF_UNIX) as server:
            server.bind(str(where))
            server.listen(64)
            server.settimeout(idle)
            try:
                while _answer(server, check):
                    pass
            finally:
                where.unlink(missing_ok=True)


def _lock(lock: object, wait: float = 5.0) -> bool:
    """The daemon's lock, held for its life; waits for a daemon that is on its way out."""
    deadline = time.monotonic() + wait
    while True:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)  # type: ignore[arg-type]
            return True
        except BlockingIOError:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.05)


def _answer(server: socket.socket, check: Callable[[Path], list[str]]) -> bool:
    """Answer one request; False when it is time to exit (idle, or asked to stop)."""
    try:
        conn, _ = server.accept()
    except TimeoutError:
        return False
    # A client that goes away, or sends nonsense, costs its own request and no more.
    with conn, contextlib.suppress(OSError, ValueError, AttributeError):
        conn.settimeout(REQUEST_SECONDS)
        with conn.makefile("rb") as stream:
            request = json.loads(stream.readline())
        if request.get("stop"):
            conn.sendall(b"{}")
            return False
        try:
            problems = check(Path(request["check"]))
        except Exception as exc:  # noqa: BLE001 - the caller reports it as the file's problem
            problems = [f"check failed: {type(exc).__name__}: {exc}"]
        conn.sendall(json.dumps({"problems": problems}).encode())
    return True


if __name__ == "__main__":
    if os.fork() == 0:
        _lower_priority()
        serve(sys.argv[1], Path(sys.argv[2]), float(sys.argv[3]))
