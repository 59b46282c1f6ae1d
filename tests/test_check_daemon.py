"""The check daemon: started on demand, shared, idles out, survives bad sockets, never blocks.

Real daemon processes on real Unix sockets, running the check functions of
tests/check_targets.py, each test in a runtime directory of its own.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from exporters import epubcheck
from exporters.check_daemon import NICE, ask, runtime_dir, socket_path, stop
from tests.waiting import wait_for

WHOAMI = "tests.check_targets:whoami"
KEY = ("test",)


@pytest.fixture
def runtime(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    # Under /tmp, not tmp_path: a Unix socket's path must stay under about 100 bytes.
    directory = Path(tempfile.mkdtemp(prefix="bk-test-"))
    monkeypatch.setenv("BRIEFKIT_RUNTIME_DIR", str(directory))
    yield directory
    for socket_file in directory.glob("*.sock"):
        stop(socket_file)
    shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
def sample(tmp_path: Path) -> Path:
    path = tmp_path / "sample.txt"
    path.write_text("hello")
    return path


def _pid(answer: list[str] | None) -> int:
    assert answer is not None and answer[0].startswith("pid ")
    return int(answer[0].split()[1])


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_started_on_demand_then_shared(runtime: Path, sample: Path) -> None:
    first = ask(WHOAMI, KEY, sample, idle=60)
    assert first is not None and first[1] == "bytes 5"
    pid = _pid(first)
    assert pid != os.getpid() and _alive(pid)
    assert _pid(ask(WHOAMI, KEY, sample, idle=60)) == pid  # the same daemon answers again
    where = socket_path(WHOAMI, KEY)
    assert where is not None and where.parent == runtime
    assert runtime.stat().st_mode & 0o777 == 0o700
    assert stop(where)
    wait_for("the daemon to exit", lambda: not _alive(pid), timeout=20, every=0.05)
    assert not where.exists()


def test_the_daemon_runs_at_low_priority(runtime: Path, sample: Path) -> None:
    """Behind the exporters it shares the cores with: its process, and its session, where
    the kernel schedules sessions as groups (autogroup), are niced."""
    pid = _pid(ask(WHOAMI, KEY, sample, idle=60))
    assert os.getpriority(os.PRIO_PROCESS, pid) >= NICE
    assert os.getsid(pid) != os.getsid(0)  # a session, and so an autogroup, of its own
    # e.g. "/autogroup-382 nice 10"; absent without autogroup support, and empty for a
    # process still in the boot-time group (as a container's first session may be)
    autogroup = Path(f"/proc/{pid}/autogroup")
    if autogroup.exists() and autogroup.read_text().strip():
        assert autogroup.read_text().split()[-1] == str(NICE)


def test_a_different_key_gets_a_different_daemon(runtime: Path, sample: Path) -> None:
    assert socket_path(WHOAMI, ("a",)) != socket_path(WHOAMI, ("b",))
    assert _pid(ask(WHOAMI, ("a",), sample, idle=60)) != _pid(ask(WHOAMI, ("b",), sample, idle=60))


def test_exits_when_idle(runtime: Path, sample: Path) -> None:
    pid = _pid(ask(WHOAMI, KEY, sample, idle=1))
    wait_for("the idle daemon to exit", lambda: not _alive(pid), timeout=20, every=0.05)
    assert not socket_path(WHOAMI, KEY).exists()  # type: ignore[union-attr]
    assert _pid(ask(WHOAMI, KEY, sample, idle=1)) != pid  # the next request starts another


def test_a_stale_socket_file_is_replaced(runtime: Path, sample: Path) -> None:
    where = socket_path(WHOAMI, KEY)
    assert where is not None
    with socket.socket(socket.AF_UNIX) as dead:  # bound, then closed: as a killed daemon leaves it
        dead.bind(str(where))
    assert where.exists()
    assert ask(WHOAMI, KEY, sample, idle=60) is not None


def test_a_daemon_that_dies_mid_check_gives_no_answer(runtime: Path, sample: Path) -> None:
    # None tells the caller to check in its own process (see epubcheck.check)
    assert ask("tests.check_targets:crash", KEY, sample, idle=60) is None


def test_no_daemon_in_a_directory_others_may_enter(runtime: Path, sample: Path) -> None:
    runtime.chmod(0o777)
    assert runtime_dir() is None
    assert ask(WHOAMI, KEY, sample, idle=60) is None


def test_the_daemon_does_not_hold_the_callers_output(runtime: Path, sample: Path) -> None:
    # A daemon that inherited the caller's pipes would keep run() (and CI) waiting until it exits.
    code = f"import sys; from pathlib import Path; from exporters.check_daemon import ask; print(ask({WHOAMI!r}, {KEY!r}, Path(sys.argv[1]), 300))"
    run = subprocess.run(
        [sys.executable, "-c", code, str(sample)], capture_output=True, text=True, timeout=60, check=True
    )
    pid = int(run.stdout.split("'pid ")[1].split("'")[0])
    assert _alive(pid)  # the command ended; its daemon goes on


@pytest.mark.slow
def test_epubcheck_runs_in_a_daemon_with_the_same_findings(runtime: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken.epub"
    broken.write_bytes(b"not a zip")
    in_daemon = epubcheck.check(broken)
    assert in_daemon == epubcheck.check_here(broken) and in_daemon
    assert [p.name.split("-")[0] for p in runtime.glob("*.sock")] == ["epubcheck"]


def test_epubcheck_without_a_daemon_checks_in_this_process(
    runtime: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BRIEFKIT_DAEMON_IDLE_SECONDS", "0")
    assert "PKG-018" in epubcheck.check(tmp_path / "absent.epub")[0]  # file not found
    assert list(runtime.glob("*.sock")) == []
