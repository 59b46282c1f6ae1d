"""Shared fixtures: one real Prefect server for the session, the seed publication and a copy of it."""

from __future__ import annotations

import atexit
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from briefkit.loader import load_publication
from briefkit.model import Publication
from tests.waiting import wait_for

# Before anything imports prefect: its database and profiles go to a throwaway home, never
# ~/.prefect; no telemetry (there is no network); every run, in this process or a command
# started by a test, reports to one real server that starts while the tests are collected.
HOME = Path(tempfile.mkdtemp(prefix="briefkit-prefect-home-"))
atexit.register(shutil.rmtree, HOME, True)
with socket.socket() as _s:
    _s.bind(("127.0.0.1", 0))
    PORT = _s.getsockname()[1]
os.environ |= {
    "PREFECT_HOME": str(HOME),
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "PREFECT_API_URL": f"http://127.0.0.1:{PORT}/api",
}
_SERVER = subprocess.Popen(
    [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(PORT)],
    env=os.environ | {"PREFECT_SERVER_SERVICES_SCHEDULER_LOOP_SECONDS": "1", "PREFECT_UI_ENABLED": "false"},
    stdin=subprocess.DEVNULL,
    stdout=(HOME / "server.log").open("wb"),
    stderr=subprocess.STDOUT,
    start_new_session=True,
)


def stop_group(process: subprocess.Popen[bytes], signum: int = signal.SIGTERM) -> None:
    """Signal the process group of ``process`` (started in a session of its own), then kill it if it lingers."""
    if process.poll() is None:
        os.killpg(process.pid, signum)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


atexit.register(stop_group, _SERVER)


@pytest.fixture(scope="session")
def prefect_server() -> Iterator[str]:
    """The session's Prefect API URL, once the server answers."""
    api = os.environ["PREFECT_API_URL"]

    def healthy() -> bool:
        if _SERVER.poll() is not None:
            raise AssertionError((HOME / "server.log").read_text(errors="replace")[-3000:])
        return httpx.get(f"{api}/health", timeout=5).status_code == 200

    wait_for("the Prefect server", lambda: _healthy_or_none(healthy), timeout=180, every=0.5)
    yield api


def _healthy_or_none(check: object) -> bool:
    try:
        return bool(check())  # type: ignore[operator]
    except httpx.HTTPError:
        return False


ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "source" / "support-for-ukraine"


@pytest.fixture(scope="session")
def seed() -> Publication:
    publication, diagnostics = load_publication(SEED)
    assert publication is not None, diagnostics
    return publication


@pytest.fixture
def seed_copy(tmp_path: Path) -> Path:
    """A writable copy of the seed publication directory, with a fixed edition."""
    dest = tmp_path / "source" / SEED.name
    shutil.copytree(SEED, dest)
    yaml_path = dest / "publication.yaml"
    yaml_path.write_text(yaml_path.read_text(encoding="utf-8") + "edition: 2025-03-01\n", encoding="utf-8")
    return dest
