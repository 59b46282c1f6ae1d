"""`briefkit publish`, `briefkit open` and reader-list checks in `briefkit validate`, as a user runs them."""

from __future__ import annotations

import os
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from tests.editions import publish_edition
from tests.smtp_server import Inbox, smtp_server

BRIEFKIT = Path(sys.executable).with_name("briefkit")


def env(tmp_path: Path, **settings: object) -> dict[str, str]:
    values = {
        "BRIEFKIT_OUTPUT_DIR": str(tmp_path / "output"),
        "BRIEFKIT_SOURCE_DIR": str(tmp_path / "source"),
    }
    values |= {f"BRIEFKIT_{k.upper()}": str(v) for k, v in settings.items()}
    return {k: v for k, v in os.environ.items() if not k.startswith("BRIEFKIT_")} | values


def test_validate_reports_reader_problems(seed_copy: Path, tmp_path: Path) -> None:
    (seed_copy / "readers.yaml").write_text(
        "readers:\n  - address: not-an-address\n    formats: [pdf, odt]\n", encoding="utf-8"
    )
    result = subprocess.run(
        [BRIEFKIT, "validate", "--format", "json", str(seed_copy)],
        capture_output=True,
        text=True,
        env=env(tmp_path),
        timeout=120,
    )
    assert result.returncode == 1, result.stderr
    assert '"code": "BK120"' in result.stdout and '"code": "BK121"' in result.stdout and '"line": 2' in result.stdout


@pytest.mark.slow
def test_open_serves_the_portal(tmp_path: Path) -> None:
    publish_edition(tmp_path / "output")
    process = subprocess.Popen([BRIEFKIT, "open", "--port", "0"], stdout=subprocess.PIPE, text=True, env=env(tmp_path))
    try:
        line = process.stdout.readline()  # "serving <site> at http://127.0.0.1:<port>/ (Ctrl-C to stop)"
        url = line.split(" at ")[1].split()[0]
        with urllib.request.urlopen(url + "index.html", timeout=30) as response:
            assert "Test Brief" in response.read().decode()
        with urllib.request.urlopen(url + "test-brief/2025-03-01/test-brief-handout.pdf", timeout=30) as response:
            assert (
                response.read()
                == (tmp_path / "output" / "test-brief" / "2025-03-01" / "test-brief-handout.pdf").read_bytes()
            )
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_open_and_publish_usage_errors(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("not a directory\n", encoding="utf-8")
    for args, said in (
        (["open", "--port", "65536"], "Invalid value for '--port'"),
        (["open", "--out", str(tmp_path / "a-file")], "is not a directory"),
        (["publish", "--site", str(tmp_path / "a-file")], "--site"),
    ):
        result = subprocess.run([BRIEFKIT, *args], capture_output=True, text=True, env=env(tmp_path), timeout=120)
        assert result.returncode == 2 and said in result.stderr, result.stderr
        assert "Traceback" not in result.stdout + result.stderr


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_publish_command_delivers_and_reports(tmp_path: Path, prefect_server: str) -> None:
    publish_edition(tmp_path / "output")
    source = tmp_path / "source" / "test-brief"
    source.mkdir(parents=True)
    (source / "publication.yaml").write_text(
        "title: Test Brief\nreaders:\n  - address: ada@example.org\n", encoding="utf-8"
    )
    web_root = tmp_path / "www"
    inbox = Inbox()
    with smtp_server(inbox) as port:
        settings = {
            "smtp_host": "127.0.0.1",
            "smtp_port": port,
            "smtp_starttls": "false",
            "smtp_from": "briefs@example.org",
        }
        result = subprocess.run(
            [BRIEFKIT, "publish", "--site", str(web_root)],
            capture_output=True,
            text=True,
            env=env(tmp_path, **settings),
            timeout=300,
        )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 sent now" in result.stdout
    assert "Beginning flow run" not in result.stderr  # the command's own report; Prefect's log is on the server
    assert (web_root / "index.html").is_file() and len(inbox.messages) == 1


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_publish_is_scoped_can_be_rehearsed_and_sends_review_copies_outside_the_ledger(
    tmp_path: Path, prefect_server: str
) -> None:
    for pub, reader in (("test-brief", "ada@example.org"), ("other-brief", "grace@example.org")):
        publish_edition(tmp_path / "output", publication_id=pub)
        (tmp_path / "source" / pub).mkdir(parents=True)
        (tmp_path / "source" / pub / "readers.yaml").write_text(f"readers:\n  - address: {reader}\n", encoding="utf-8")
    inbox = Inbox()
    with smtp_server(inbox) as port:
        settings = env(
            tmp_path, smtp_host="127.0.0.1", smtp_port=port, smtp_starttls="false", smtp_from="b@example.org"
        )

        def briefkit(*args: str) -> subprocess.CompletedProcess[str]:
            run = [BRIEFKIT, "publish", *args]
            return subprocess.run(run, capture_output=True, text=True, env=settings | {"COLUMNS": "200"}, timeout=300)

        rehearsal = briefkit("--dry-run")
        assert rehearsal.returncode == 0, rehearsal.stdout + rehearsal.stderr
        assert "ada@example.org" in rehearsal.stdout and "grace@example.org" in rehearsal.stdout
        assert not inbox.raw and not (tmp_path / "output" / "deliveries.sqlite3").exists()

        scoped = briefkit("other-brief")
        assert scoped.returncode == 0, scoped.stdout + scoped.stderr
        assert dict(inbox.received) == {"grace@example.org": 1}

        review = briefkit("test-brief", "--to", "editor@example.org")
        assert review.returncode == 0 and "review copy of test-brief" in review.stdout, review.stderr
        assert inbox.received["editor@example.org"] == 1 and inbox.received["ada@example.org"] == 0
        assert inbox.messages[-1]["Subject"].startswith("Review copy: [OFFICIAL] Test Brief")

        again = briefkit("--dry-run")
        row = {
            a: next(ln for ln in again.stdout.splitlines() if a in ln) for a in ("grace@example.org", "ada@example.org")
        }
        assert "not send (sent)" in row["grace@example.org"] and "attach" in row["ada@example.org"]
        assert "editor@example.org" not in again.stdout  # the review copy is not a delivery

        assert briefkit("no-such-brief").returncode == 2
        assert briefkit("--to", "not an address").returncode == 2
