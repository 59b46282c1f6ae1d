"""Shared fixtures: the seed publication and a scratch copy of it."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path

import pytest

from briefkit.loader import load_publication
from briefkit.model import Publication

# Before anything imports prefect: its database and profiles go to a throwaway home, never
# ~/.prefect, and its server sends no telemetry (there is no network).
os.environ["PREFECT_HOME"] = tempfile.mkdtemp(prefix="briefkit-prefect-home-")
atexit.register(shutil.rmtree, os.environ["PREFECT_HOME"], True)
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
# Check daemons (exporters.check_daemon) that the tests start listen in a directory of their
# own, idle out soon, and are stopped when the tests end: none outlives the suite.
os.environ["BRIEFKIT_RUNTIME_DIR"] = tempfile.mkdtemp(prefix="bk-run-")
os.environ["BRIEFKIT_DAEMON_IDLE_SECONDS"] = "300"


@atexit.register
def _stop_daemons() -> None:
    from exporters.check_daemon import stop

    runtime = Path(os.environ["BRIEFKIT_RUNTIME_DIR"])
    for socket_file in runtime.glob("*.sock"):
        stop(socket_file)
    shutil.rmtree(runtime, ignore_errors=True)


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
