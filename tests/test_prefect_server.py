"""`briefkit build` and `briefkit serve` against a real `prefect server start` on 127.0.0.1.

These tests start a real Prefect server (marked slow; find them by this file name): a
scheduled run of a served deployment, each publication's schedule (its own cron or the
default), an on-demand `prefect deployment run`, and the command line's exit codes. Every process started here is stopped by its group id.
"""

from __future__ import annotations

import importlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

from briefkit.manifest import latest_dir, read_manifest, sha256_file
from tests.conftest import HOME, stop_group
from tests.smtp_server import Inbox, smtp_server
from tests.waiting import wait_for

pytestmark = pytest.mark.slow

BIN = Path(sys.executable).parent
SEED = Path(__file__).resolve().parent.parent / "source" / "support-for-ukraine"


@dataclass(frozen=True)
class Server:
    api_url: str
    home: Path

    def env(self, **extra: str) -> dict[str, str]:
        """Environment of a client of this server: its own home, quiet, fast polling."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
        env.update(
            PREFECT_API_URL=self.api_url,
            PREFECT_HOME=str(self.home),
            PREFECT_SERVER_ANALYTICS_ENABLED="false",
            PREFECT_RUNNER_POLL_FREQUENCY="1",
        )
        return env | extra

    def api(self, path: str, body: dict[str, object] | None = None) -> object:
        request = urllib.request.Request(
            f"{self.api_url}{path}",
            data=json.dumps(body).encode() if body is not None else None,
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read())


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stop(process: subprocess.Popen[bytes]) -> None:
    """Interrupt `serve` as Ctrl-C does, then kill its process group if it lingers."""
    stop_group(process, signal.SIGINT)


@pytest.fixture(scope="module")
def server(prefect_server: str) -> Server:
    """The session's real `prefect server start` (tests/conftest.py)."""
    return Server(prefect_server, HOME)


def publication(tmp_path: Path, name: str) -> Path:
    """A working directory with source/<name>, a copy of the seed with a fixed edition."""
    dest = tmp_path / "work" / "source" / name
    shutil.copytree(SEED, dest)
    yaml_path = dest / "publication.yaml"  # without the seed's own schedule: the tests give theirs
    kept = [line for line in yaml_path.read_text(encoding="utf-8").splitlines() if not line.startswith("schedule:")]
    yaml_path.write_text("\n".join([*kept, "edition: 2025-03-01"]) + "\n", encoding="utf-8")
    return dest.parent.parent


def briefkit(work: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "briefkit"), *args],
        cwd=work,
        env=env | {"COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=600,
    )


def assert_published(output: Path, publication_id: str) -> None:
    manifest = read_manifest(latest_dir(output, publication_id))
    assert manifest is not None and manifest.files
    for f in manifest.files:
        assert sha256_file(latest_dir(output, publication_id) / f.name) == f.sha256


def flow_runs(server: Server, deployment: str) -> list[dict[str, object]]:
    found = server.api(f"/deployments/name/{deployment}")
    return server.api("/flow_runs/filter", {"flow_runs": {"deployment_id": {"any_": [found["id"]]}}})  # type: ignore[index, return-value]


def serving(work: Path, env: dict[str, str], *args: str) -> subprocess.Popen[bytes]:
    log = (work / "serve.log").open("wb")
    return subprocess.Popen(
        [str(BIN / "briefkit"), "serve", *args],
        cwd=work,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_served_deployments_run_on_schedule_and_a_failed_run_is_one_line_and_an_alert_to_the_editors(
    server: Server, tmp_path: Path
) -> None:
    """One `serve` of two publications (one serve's start-up, not two): the good one is built and
    published on its schedule; the broken one fails, says so in one line and mails its editors."""
    work = publication(tmp_path, "scheduled-brief")
    shutil.copytree(work / "source" / "scheduled-brief", work / "source" / "alert-brief")
    source = work / "source" / "alert-brief"
    (source / "readers.yaml").write_text("editors:\n  - name: Desk\n    address: desk@example.org\n", encoding="utf-8")
    next((source / "passages").glob("*.md")).write_text("---\ntitle: Broken\n---\n", encoding="utf-8")  # BK107
    inbox = Inbox()
    with smtp_server(inbox) as port:
        mail = {
            "BRIEFKIT_SMTP_HOST": "127.0.0.1",
            "BRIEFKIT_SMTP_PORT": str(port),
            "BRIEFKIT_SMTP_STARTTLS": "false",
            "BRIEFKIT_SMTP_FROM": "Briefings <briefs@example.org>",
        }
        process = serving(work, server.env(**mail), "--interval", "10", "--out", "output")
        try:
            wait_for(
                "a completed scheduled run",
                lambda: [
                    r
                    for r in flow_runs(server, "build-and-publish/scheduled-brief")
                    if r["auto_scheduled"] and r["state_type"] == "COMPLETED"
                ],
            )
            wait_for("an alert to the editors", lambda: inbox.received["desk@example.org"] >= 1)
        except AssertionError:
            raise AssertionError((work / "serve.log").read_text(errors="replace")[-5000:]) from None
        finally:
            stop(process)
    assert_published(work / "output", "scheduled-brief")
    alert = inbox.messages[0]
    assert alert["Subject"].startswith("briefkit: alert-brief was not published") and "Failed" in alert["Subject"]
    assert "BK107" in alert.get_content()
    log = (work / "serve.log").read_text(errors="replace")
    assert re.search(r"^alert-brief  Failed  no edition  \d+\.\d s", log, re.M), log[-3000:]
    assert "Traceback" not in log.split("briefkit: interrupted")[0]  # the runs' output, before the test stops serve
    assert not (work / "output" / "alert-brief" / "latest").exists()


def test_serve_schedules_each_publication_by_its_own_cron_or_the_default_and_runs_one_on_demand(
    server: Server, tmp_path: Path
) -> None:
    work = publication(tmp_path, "default-cron-brief")
    own = work / "source" / "own-cron-brief"
    shutil.copytree(work / "source" / "default-cron-brief", own)
    with (own / "publication.yaml").open("a", encoding="utf-8") as f:
        f.write('schedule: "30 7 * * *"\n')
    process = serving(work, server.env(), "--cron", "0 6 * * 1-5", "--out", "output")
    try:
        crons = {
            name: wait_for(
                f"the deployment of {name}",
                lambda name=name: [
                    s["schedule"]["cron"]
                    for s in server.api(f"/deployments/name/build-and-publish/{name}")["schedules"]
                ],
            )  # type: ignore[index]
            for name in ("default-cron-brief", "own-cron-brief")
        }
        # and a run on demand, as `prefect deployment run` (or the UI) starts one
        started = subprocess.run(
            [str(BIN / "prefect"), "deployment", "run", "build-and-publish/default-cron-brief"],
            env=server.env(),
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert started.returncode == 0, started.stdout + started.stderr
        run_id = re.search(r"UUID: ([0-9a-f-]{36})", started.stdout).group(1)  # type: ignore[union-attr]
        state = wait_for(
            "the run to finish",
            lambda: (s := server.api(f"/flow_runs/{run_id}")["state_type"]) in ("COMPLETED", "FAILED", "CRASHED") and s,
        )  # type: ignore[index]
    finally:
        stop(process)
    assert crons == {"default-cron-brief": ["0 6 * * 1-5"], "own-cron-brief": ["30 7 * * *"]}
    assert state == "COMPLETED", (work / "serve.log").read_text(errors="replace")
    assert_published(work / "output", "default-cron-brief")
    assert server.api(f"/flow_runs/{run_id}")["name"] == "default-cron-brief-2025-03-01"  # <publication>-<edition>


def test_prefect_yaml_is_what_briefkit_deploy_writes_and_names_real_flows(tmp_path: Path) -> None:
    import yaml

    root = SEED.parent.parent
    current = briefkit(root, Server("", tmp_path).env(), "deploy", "--check")
    assert current.returncode == 0, current.stdout + current.stderr  # the work-pool path and `serve` agree
    declared = yaml.safe_load((root / "prefect.yaml").read_text(encoding="utf-8"))
    for deployment in declared["deployments"]:  # each names a flow that exists
        path, name = deployment["entrypoint"].split(":")
        flow = getattr(importlib.import_module(path.removesuffix(".py").replace("/", ".")), name)
        assert type(flow).__name__ == "Flow" and deployment["work_pool"]["name"] == "briefkit"
    assert [s["cron"] for d in declared["deployments"] for s in d["schedules"]] == ["0 6 * * 1-5"]

    work = publication(tmp_path, "own-brief")
    (work / "source" / "own-brief" / "publication.yaml").open("a", encoding="utf-8").write('schedule: "30 7 * * *"\n')
    shutil.copytree(work / "source" / "own-brief", work / "source" / "default-brief")
    (work / "source" / "default-brief" / "publication.yaml").write_text("title: Default\n", encoding="utf-8")
    env = Server("", tmp_path).env()
    assert briefkit(work, env, "deploy", "--check").returncode == 1  # no prefect.yaml yet
    written = briefkit(work, env, "deploy", "--cron", "0 6 * * 1-5", "--timezone", "Europe/Kyiv")
    assert written.returncode == 0, written.stderr
    schedules = {d["name"]: d["schedules"] for d in yaml.safe_load((work / "prefect.yaml").read_text())["deployments"]}
    assert schedules == {
        "default-brief": [{"cron": "0 6 * * 1-5", "timezone": "Europe/Kyiv"}],
        "own-brief": [{"cron": "30 7 * * *", "timezone": "Europe/Kyiv"}],
    }
    bad_zone = briefkit(work, env, "deploy", "--timezone", "Mars/Olympus")
    assert bad_zone.returncode == 2 and "not an IANA time zone" in bad_zone.stderr


def test_build_command_publishes_then_reports_up_to_date(server: Server, tmp_path: Path) -> None:
    work = publication(tmp_path, "command-brief")
    first = briefkit(work, server.env(), "build", "command-brief", "--formats", "docx,pdf")
    assert first.returncode == 0, first.stdout + first.stderr
    assert "published" in first.stdout and "command-brief-briefing-pack.docx" in first.stdout
    assert "Traceback" not in first.stderr
    assert_published(work / "output", "command-brief")
    # Nothing to do is found without a flow run: no Prefect server is needed to say so.
    down = server.env() | {"PREFECT_API_URL": f"http://127.0.0.1:{free_port()}/api"}
    again = briefkit(work, down, "build", "command-brief", "--formats", "pdf,docx")
    assert again.returncode == 0 and "up to date" in again.stdout, again.stdout + again.stderr
    forced = briefkit(work, down, "build", "command-brief", "--force")
    assert forced.returncode == 2 and "no Prefect server answers" in forced.stderr


def test_build_command_shows_diagnostics_of_an_invalid_publication(server: Server, tmp_path: Path) -> None:
    work = publication(tmp_path, "broken-brief")
    next((work / "source" / "broken-brief" / "passages").glob("*.md")).write_text(
        "---\ntitle: Broken\n---\n", encoding="utf-8"
    )
    result = briefkit(work, server.env(), "build", "broken-brief")
    assert result.returncode == 1
    assert "BK107" in result.stdout and "1 error" in result.stdout and "invalid" in result.stdout
    # once, as the command shows it: Prefect's log of the run, with its "NoneType: None", stays on the server
    assert (result.stdout + result.stderr).count("BK107") == 1, result.stderr
    assert "Traceback" not in result.stdout + result.stderr and "NoneType" not in result.stderr
    assert not (work / "output" / "broken-brief").exists()


def test_build_command_usage_errors(tmp_path: Path) -> None:
    work = publication(tmp_path, "usage-brief")
    env = Server("", tmp_path / "home").env()
    del env["PREFECT_API_URL"]
    unknown_format = briefkit(work, env, "build", "--formats", "docx,odt")
    assert unknown_format.returncode == 2 and "unknown format odt; known formats:" in unknown_format.stderr
    unknown_publication = briefkit(work, env, "build", "no-such-brief")
    assert unknown_publication.returncode == 2 and "unknown publication 'no-such-brief'" in unknown_publication.stderr
    down = briefkit(work, env | {"PREFECT_API_URL": f"http://127.0.0.1:{free_port()}/api"}, "build")
    assert down.returncode == 2 and "PREFECT_API_URL: no Prefect server answers at http://127.0.0.1:" in down.stderr
    assert len(down.stderr.strip().splitlines()) == 1
    (work / "a-file").write_text("not a directory\n", encoding="utf-8")
    out_is_a_file = briefkit(work, env, "build", "--out", "a-file")
    assert out_is_a_file.returncode == 2 and "--out a-file is not a directory" in out_is_a_file.stderr
    unwritable = briefkit(work, env, "build", "--out", "a-file/output")  # as root, only a file blocks a directory
    assert (
        unwritable.returncode == 2 and "--out a-file/output: cannot write there (Not a directory)" in unwritable.stderr
    )
    bad_cron = briefkit(work, env, "serve", "--cron", "61 * * * *")
    assert bad_cron.returncode == 2 and "--cron '61 * * * *' is not a cron expression: bad minute" in bad_cron.stderr
    no_cluster = briefkit(work, env, "build", "--force", "--dask", f"127.0.0.1:{free_port()}")
    assert no_cluster.returncode == 2 and "no Dask scheduler answers at 127.0.0.1:" in no_cluster.stderr
    for result in (unknown_format, unknown_publication, down, out_is_a_file, unwritable, bad_cron, no_cluster):
        assert "Traceback" not in result.stdout + result.stderr


def test_without_a_configured_server_the_first_command_starts_a_local_one_that_later_ones_reuse(
    tmp_path: Path,
) -> None:
    """What `make build` does on a fresh machine: no PREFECT_API_URL, no server running."""
    work = publication(tmp_path, "fresh-brief")
    env = Server("", tmp_path / "home").env()
    del env["PREFECT_API_URL"]
    try:
        first = briefkit(work, env, "build", "--formats", "docx")
        assert first.returncode == 0, first.stdout + first.stderr
        assert "started a local Prefect server" in first.stderr and "briefkit server stop" in first.stderr
        assert "published" in first.stdout and "Error" not in first.stderr
        assert_published(work / "output", "fresh-brief")
        status = briefkit(work, env, "server", "status")
        assert status.returncode == 0 and "local Prefect server: UI http://127.0.0.1:" in status.stdout
        # EPUBCheck ran in the warm worker that the server's start started beside it (the first
        # build makes every format: there is no edition to carry the others over from)
        local = Server(re.search(r"UI (http://\S+)/", status.stdout).group(1) + "/api", tmp_path / "home")  # type: ignore[union-attr]
        query = {"task_runs": {"name": {"any_": ["format-check-epub-fresh-brief"]}}}
        # the server records a task worker's states from its events, a moment after the run has them
        wait_for(
            "the worker's check recorded as completed",
            lambda: [run["state_type"] for run in local.api("/task_runs/filter", query)] == ["COMPLETED"],  # type: ignore[index,union-attr]
            timeout=60,
        )
        # the Word pack's check is plain Python: the build ran it itself, handing it over costs more
        assert (
            local.api("/task_runs/filter", {"task_runs": {"name": {"any_": ["format-check-docx-fresh-brief"]}}}) == []
        )
        worker = int(re.search(r"a warm worker, pid (\d+)", status.stdout).group(1))  # type: ignore[union-attr]
        os.killpg(worker, signal.SIGKILL)  # a worker that died is started again by the next command
        alone = briefkit(work, env, "build", "--formats", "docx", "--force")
        assert alone.returncode == 0 and "checked docx" in alone.stdout, alone.stdout + alone.stderr
        assert f"a warm worker, pid {worker}" not in (restarted := briefkit(work, env, "server", "status").stdout)
        assert "format checks: a warm worker" in restarted
        again = briefkit(work, env, "build", "--formats", "docx", "--force")
        assert again.returncode == 0 and "exported docx" in again.stdout, again.stdout + again.stderr
        assert "started" not in again.stderr and "Error" not in again.stderr  # the same server, reused
        _builds_are_handed_to_the_warm_worker(work, env, local)
    finally:
        stopped = briefkit(work, env, "server", "stop")
    assert stopped.returncode == 0 and "stopped the local Prefect server" in stopped.stdout
    assert briefkit(work, env, "server", "status").returncode == 1


def _builds_are_handed_to_the_warm_worker(work: Path, env: dict[str, str], local: Server) -> None:
    """Once ready, the local worker runs on-demand builds itself (flows.handoff): same output,
    progress and exit codes as a build in the command, but only for the same directory and settings."""
    start = briefkit(work, env, "server", "start")  # it runs already: waits for the worker to warm up
    assert start.returncode == 0 and "already running" in start.stdout and "warm worker ready" in start.stdout
    assert "on-demand builds run in: the warm worker" in briefkit(work, env, "server", "status").stdout

    def handed() -> list[str]:
        runs = local.api(
            "/flow_runs/filter", {"flow_runs": {"tags": {"all_": ["local-worker"]}}, "sort": "START_TIME_ASC"}
        )
        return [run["state_type"] for run in runs]  # type: ignore[index,union-attr]

    forced = briefkit(work, env, "build", "--force")
    assert forced.returncode == 0, forced.stdout + forced.stderr
    assert "read back and checked epub" in forced.stdout and "fresh-brief" in forced.stdout
    assert handed() == ["COMPLETED"] and "Traceback" not in forced.stdout + forced.stderr
    assert_published(work / "output", "fresh-brief")
    # from another directory the command builds itself, and the worker checks its EPUB by a path
    # that is not relative to the worker's own directory
    elsewhere = work.parent / "elsewhere"
    shutil.copytree(work / "source", elsewhere / "source")
    there = briefkit(elsewhere, env, "build", "--force", "--out", "output")
    assert there.returncode == 0 and "read back and checked epub" in there.stdout, there.stdout + there.stderr
    assert handed() == ["COMPLETED"] and "from another directory" in briefkit(elsewhere, env, "server", "status").stdout
    assert_published(elsewhere / "output", "fresh-brief")
    # an invalid publication: its diagnostics and exit 1, as from a build in the command
    passage = next((work / "source" / "fresh-brief" / "passages").glob("*.md"))
    text = passage.read_text(encoding="utf-8")
    passage.write_text("---\ntitle: Broken\n---\n", encoding="utf-8")
    invalid = briefkit(work, env, "build")
    assert invalid.returncode == 1 and "BK107" in invalid.stdout and "invalid" in invalid.stdout
    assert passage.name in invalid.stdout and "Traceback" not in invalid.stdout + invalid.stderr
    assert len(handed()) == 2
    assert_published(work / "output", "fresh-brief")  # the last edition stands
    # other settings than the worker's: the command builds itself
    other = briefkit(work, env | {"BRIEFKIT_MAX_SENTENCE_WORDS": "40"}, "build")
    assert other.returncode == 1 and "BK107" in other.stdout
    assert len(handed()) == 2
    # the worker killed once the command handed it the build (stopped first, so that it cannot
    # finish the run before it is killed): the command says so and exits 1, the run is
    # cancelled (no later worker takes it), and the last edition stands
    passage.write_text(text, encoding="utf-8")
    status = briefkit(work, env, "server", "status").stdout
    worker = int(re.search(r"a warm worker, pid (\d+)", status).group(1))  # type: ignore[union-attr]
    os.killpg(worker, signal.SIGSTOP)
    building = subprocess.Popen(
        [str(BIN / "briefkit"), "build", "--force"], cwd=work, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    wait_for("the command to hand the run over", lambda: len(handed()) == 3, timeout=60, every=0.1)
    os.killpg(worker, signal.SIGKILL)
    out, err = building.communicate(timeout=120)
    assert building.returncode == 1 and b"the local worker gave no outcome" in out, out + err
    assert b"Traceback" not in out + err
    cancelled = {"flow_runs": {"tags": {"all_": ["local-worker"]}, "state": {"type": {"any_": ["CANCELLED"]}}}}
    assert len(local.api("/flow_runs/filter", cancelled)) == 1  # type: ignore[arg-type]
    assert_published(work / "output", "fresh-brief")
