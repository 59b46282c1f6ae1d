"""Where flow runs report: PREFECT_API_URL's server, or a local one that briefkit starts once and reuses.

Prefect's temporary server costs every command seconds to start, and cannot run schedules.
So, with no PREFECT_API_URL, the first command that needs Prefect starts ``prefect server
start`` on 127.0.0.1 in the background, notes where it listens in PREFECT_HOME, and says
how to stop it; later commands report to it. ``briefkit server start|stop|status`` do the
same on request. Beside the server it starts the local worker (flows.worker), which keeps
format checks warm and takes on-demand builds (flows.handoff). This module imports Prefect
only to report to a server, never to start one.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import httpx

DEFAULT_PORT = 4200  # Prefect's own default: the UI is where Prefect's docs say it is
START_SECONDS = 120.0
STOP_SECONDS = 20.0


class ServerError(RuntimeError):
    """A Prefect server that cannot be reached or started; the message says what to do."""


@dataclass(frozen=True)
class LocalServer:
    """A background ``prefect server start`` that briefkit started."""

    port: int
    pid: int  # of the server process, which leads its own process group
    checker_pid: int = 0  # of the local worker (flows.worker), which leads its own group too
    checker_code: str = ""  # code_fingerprint() of what that worker runs
    checker_context: str = ""  # run_context() of the worker's surroundings

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api"

    @property
    def ui_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"


def prefect_home() -> Path:
    return Path(os.environ.get("PREFECT_HOME") or Path.home() / ".prefect").expanduser()


def _state_file() -> Path:
    return prefect_home() / "briefkit-server.json"


def ready_file() -> Path:
    """Holds the pid of the local worker once it takes builds (flows.worker)."""
    return prefect_home() / "briefkit-worker.ready"


def log_file() -> Path:
    return prefect_home() / "briefkit-server.log"


def api_problem(api_url: str) -> str | None:
    """Why the Prefect API at ``api_url`` cannot take runs, or None when it answers."""
    try:
        response = httpx.get(api_url.rstrip("/") + "/health", timeout=5)
    except httpx.HTTPError as exc:
        return f"no Prefect server answers at {api_url} ({type(exc).__name__})"
    if response.status_code != 200:
        return f"the Prefect server at {api_url} answers HTTP {response.status_code} to a health check"
    return None


def _recorded() -> LocalServer | None:
    try:
        return LocalServer(**json.loads(_state_file().read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError):
        return None


def running() -> LocalServer | None:
    """The local server briefkit started, if it still answers."""
    server = _recorded()
    return server if server is not None and alive(server.pid) and api_problem(server.api_url) is None else None


def alive(pid: int) -> bool:
    """Whether ``pid`` runs. A zombie does not: a killed worker stays one until whoever adopted
    it (often a container's init) reaps it, and must be started again meanwhile."""
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, PermissionError):  # gone, or someone else's process has the number now
        return False
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except OSError:
        return True  # no /proc: the signal's answer is all there is
    return stat.rpartition(")")[2].split()[:1] != ["Z"]  # the state follows the command's name in parentheses


@contextlib.contextmanager
def _locked() -> Iterator[None]:
    """One command at a time starts or stops the local server."""
    prefect_home().mkdir(parents=True, exist_ok=True)
    fd = os.open(prefect_home() / "briefkit-server.lock", os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def start(port: int = 0, env: dict[str, str] | None = None) -> tuple[LocalServer, bool]:
    """The running local server, or a new one on ``port`` (default 4200, else a free one);
    True when this call started it. Raises ServerError when it does not come up. Either way
    its local worker runs afterwards."""
    environment = os.environ | {"PREFECT_SERVER_ANALYTICS_ENABLED": "false"} | (env or {})
    environment.pop("PREFECT_API_URL", None)
    with _locked():
        server, started = running(), False
        if server is None:
            server, started = (
                _start_server(port or (DEFAULT_PORT if _free(DEFAULT_PORT) else _free_port()), environment),
                True,
            )
        if not _checker_current(server):
            if _checker_alive(server):  # running code that has changed since
                _kill_group(server.checker_pid)
            # a served task has no flow run to send its logs to
            settings = {"PREFECT_API_URL": server.api_url, "PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW": "ignore"}
            checker = _background([sys.executable, "-m", "flows.worker"], environment | settings)
            context = run_context(environment)
            server = replace(server, checker_pid=checker.pid, checker_code=code_fingerprint(), checker_context=context)
            _state_file().write_text(json.dumps(asdict(server)), encoding="utf-8")
        return server, started


def _start_server(port: int, environment: dict[str, str]) -> LocalServer:
    process = _background(
        [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(port)], environment
    )
    server = LocalServer(port, process.pid)
    if not wait(lambda: process.poll() is None and api_problem(server.api_url) is None, START_SECONDS):
        _kill_group(process.pid)
        tail = log_file().read_text(encoding="utf-8", errors="replace").strip().splitlines()[-1:] or ["(no output)"]
        raise ServerError(f"the local Prefect server did not start on port {port}: {tail[0]} (log: {log_file()})")
    return server


def _background(command: list[str], environment: dict[str, str]) -> subprocess.Popen[bytes]:
    """Start ``command`` in a session of its own, logging to log_file()."""
    with log_file().open("ab") as log:
        return subprocess.Popen(
            command,
            env=environment,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # outlives the command, and Ctrl-C in its terminal
        )


def checker_pid(server: LocalServer) -> int | None:
    """The pid of ``server``'s local worker when it runs this code, else None."""
    return server.checker_pid if _checker_current(server) else None


def takes_builds(server: LocalServer) -> bool:
    """Whether ``server``'s local worker runs this code and has started taking builds."""
    with contextlib.suppress(OSError):
        return _checker_current(server) and ready_file().read_text(encoding="utf-8") == str(server.checker_pid)
    return False


def checker_serves(api_url: str) -> bool:
    """Whether the local worker runs, serves ``api_url`` and is another process than this one."""
    server = _recorded()
    return (
        server is not None
        and server.api_url == api_url
        and _checker_current(server)
        and server.checker_pid != os.getpid()
    )


def _checker_alive(server: LocalServer) -> bool:
    return server.checker_pid > 0 and alive(server.checker_pid)


def _checker_current(server: LocalServer) -> bool:
    return _checker_alive(server) and server.checker_code == code_fingerprint()


@functools.cache
def code_fingerprint() -> str:
    """A digest of briefkit's own source: a worker started before the code changed (an upgrade,
    an edit in a checkout) must not check this code's files."""
    root = Path(__file__).resolve().parent.parent
    digest = hashlib.sha256()
    for path in sorted(p for package in ("briefkit", "exporters", "flows") for p in (root / package).rglob("*.py")):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


# What a build run depends on besides its parameters and code: settings, and where tools are found.
_CONTEXT_VARIABLES = ("PATH", "JAVA_HOME", "HOME", "TZ", "LANG", "LC_ALL", "LC_CTYPE", "SOURCE_DATE_EPOCH")


def run_context(environment: Mapping[str, str]) -> str:
    """A digest of the surroundings a build run sees: the working directory, its .env file
    (briefkit's settings file), BRIEFKIT_* variables and a few more. The worker takes a
    command's build only when its own digest is the command's."""
    digest = hashlib.sha256(os.getcwd().encode())
    with contextlib.suppress(OSError):
        digest.update(Path(".env").read_bytes())
    for name in sorted(n for n in environment if n.startswith("BRIEFKIT_") or n in _CONTEXT_VARIABLES):
        digest.update(f"\0{name}={environment[name]}".encode())
    return digest.hexdigest()


def configured_elsewhere() -> bool:
    """Whether Prefect could be told of a server other than the local one: PREFECT_API_URL or a
    profile in the environment, or any of Prefect's settings files that could name one. Judged
    without importing Prefect, so on the safe side."""
    if os.environ.get("PREFECT_API_URL") or os.environ.get("PREFECT_PROFILE"):
        return True
    mentions = {prefect_home() / "profiles.toml": "PREFECT_API_URL", Path(".env"): "PREFECT_API_URL",
                Path("prefect.toml"): "", Path("pyproject.toml"): "tool.prefect"}  # fmt: skip
    for path, word in mentions.items():
        with contextlib.suppress(OSError):
            if word in path.read_text(encoding="utf-8", errors="replace"):
                return True
    return False


def stop() -> LocalServer | None:
    """Stop the local server briefkit started; the server it was, or None if none ran."""
    with _locked():
        server = running()
        _state_file().unlink(missing_ok=True)
        ready_file().unlink(missing_ok=True)
        if server is not None:
            for pid in (server.checker_pid, server.pid):
                if pid > 0:
                    _kill_group(pid)
        return server


def _kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGTERM)
        if not wait(lambda: not alive(pid), STOP_SECONDS):
            os.killpg(pid, signal.SIGKILL)


def wait(condition: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.25)
    return False


def _free(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def configured_api() -> str:
    """PREFECT_API_URL from the environment or the Prefect profile; "" for none."""
    from prefect.settings import PREFECT_API_URL

    return str(PREFECT_API_URL.value() or "")


@contextlib.contextmanager
def prefect_api(notice: Callable[[str], None]) -> Iterator[str]:
    """The API URL that runs in the block report to: PREFECT_API_URL's, which must answer,
    or the local server's, started (with a ``notice`` to the user) when it is not running."""
    if configured := configured_api():
        if problem := api_problem(configured):
            raise ServerError(f"PREFECT_API_URL: {problem}; start that server, or unset PREFECT_API_URL")
        yield configured
        return
    server, started = start()
    if started:
        notice(
            f"started a local Prefect server for this and later commands (UI: {server.ui_url}); "
            "stop it with `briefkit server stop`"
        )
    from prefect.settings import PREFECT_API_URL, temporary_settings  # Prefect only once it has a server

    with temporary_settings({PREFECT_API_URL: server.api_url}):
        yield server.api_url
