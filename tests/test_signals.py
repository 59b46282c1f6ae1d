"""Interrupting a build: SIGTERM or Ctrl-C ends it within seconds, kill -9 leaves nothing running,
and either way the last good edition stays and the next run succeeds."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from briefkit.manifest import latest_dir, read_manifest, sha256_file
from flows.cli import INTERRUPT_GRACE_SECONDS
from tests.conftest import SEED

pytestmark = pytest.mark.slow
BRIEFKIT = Path(sys.executable).with_name("briefkit")


def large_publication(root: Path, passages: int = 600) -> None:
    """The seed's passages, repeated: enough text that the PDF export takes seconds."""
    source = root / "source" / "large-brief"
    (source / "passages").mkdir(parents=True)
    (source / "publication.yaml").write_text("title: Large brief\nedition: 2025-03-01\n", encoding="utf-8")
    seeds = sorted((SEED / "passages").glob("*.md"))
    for n in range(passages):
        text = seeds[n % len(seeds)].read_text(encoding="utf-8")
        (source / "passages" / f"{n:05d}-p{n}.md").write_text(text, encoding="utf-8")


def build_word_pack(work: Path) -> str:
    """A whole build of the Word pack alone; its output."""
    run = [BRIEFKIT, "build", "large-brief", "--out", "output", "--formats", "docx"]
    done = subprocess.run(run, cwd=work, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def start_build(work: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [BRIEFKIT, "build", "large-brief", "--out", "output", *args],
        cwd=work,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own process group: what is left of it can be found
        # Ctrl-C as a user's terminal delivers it: a suite started in the background (`cmd &` in a
        # script) passes SIGINT on ignored, and a Python child then keeps ignoring it
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )


def wait_for_line(process: subprocess.Popen[str], needle: str) -> None:
    assert process.stdout is not None
    for line in process.stdout:
        if needle in line:
            return
    raise AssertionError(f"the build ended before printing {needle!r} (exit {process.wait()})")


def group_is_gone(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return True
    return False


@pytest.fixture(scope="module")
def first_edition(tmp_path_factory: pytest.TempPathFactory, prefect_server: str) -> Path:
    """A work directory with the large publication and its first edition (the Word pack alone)."""
    work = tmp_path_factory.mktemp("signals")
    large_publication(work)
    build_word_pack(work)
    return work


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT, signal.SIGKILL])
def test_an_interrupted_build_ends_promptly_and_harms_nothing(
    tmp_path: Path, first_edition: Path, signum: signal.Signals
) -> None:
    shutil.copytree(first_edition, tmp_path, symlinks=True, dirs_exist_ok=True)  # latest is a relative link
    good = read_manifest(latest_dir(tmp_path / "output", "large-brief"))
    assert good is not None

    passage = next((tmp_path / "source" / "large-brief" / "passages").glob("*.md"))
    passage.write_text(passage.read_text(encoding="utf-8") + "\nAn edit after the last edition.\n", encoding="utf-8")
    process = start_build(tmp_path)
    wait_for_line(process, "exported docx")  # the PDF's export is still running
    sent = time.monotonic()
    process.send_signal(signum)
    code = process.wait(timeout=60)
    ended = time.monotonic() - sent  # before reading its output to the end, which a child may hold open
    said = process.stdout.read() if process.stdout else ""
    assert ended < INTERRUPT_GRACE_SECONDS + 5
    assert code != 0, said
    if signum != signal.SIGKILL:
        assert "interrupted" in said
    assert group_is_gone(process.pid) or time.sleep(2) or group_is_gone(process.pid)  # no process left behind

    latest = latest_dir(tmp_path / "output", "large-brief")
    assert read_manifest(latest) == good
    assert all(sha256_file(latest / f.name) == f.sha256 for f in good.files)

    assert "published" in build_word_pack(tmp_path)  # nothing left behind blocks the next run
