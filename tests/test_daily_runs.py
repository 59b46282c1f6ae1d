"""Runs as an operator sees them on the server: named after publication and edition, and a run
that finds its publication locked by another waits a bounded time, then ends Cancelled."""

from __future__ import annotations

import re
import shutil
import threading
import time
from pathlib import Path
from uuid import UUID

import pytest
import yaml
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterParentFlowRunId
from prefect.client.schemas.objects import FlowRun, StateType

from briefkit import publishing
from briefkit.manifest import latest_dir
from flows.build import FAULT_ENV, add_listener, build, build_all, remove_listener
from flows.publish import build_and_publish
from tests.test_flow_build import edit, only

pytestmark = pytest.mark.slow


@pytest.fixture(autouse=True)
def server(prefect_server: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """Every run reports to the session's Prefect server (tests/conftest.py); no mail is sent."""
    for key in ("SMTP_HOST", "SMTP_BLOCK", "LOCK_WAIT_SECONDS"):
        monkeypatch.delenv(f"BRIEFKIT_{key}", raising=False)
    return prefect_server


def server_run(state: object) -> FlowRun:
    with get_client(sync_client=True) as client:
        return client.read_flow_run(UUID(str(state.state_details.flow_run_id)))  # type: ignore[attr-defined]


def child_runs(parent: FlowRun) -> list[FlowRun]:
    with get_client(sync_client=True) as client:
        return client.read_flow_runs(
            flow_run_filter=FlowRunFilter(parent_flow_run_id=FlowRunFilterParentFlowRunId(any_=[parent.id]))
        )


def test_build_runs_are_named_after_the_publication_and_its_edition(seed_copy: Path, tmp_path: Path) -> None:
    output = tmp_path / "output"
    only(seed_copy, "docx")
    first = build(str(seed_copy), output_dir=str(output), return_state=True)
    assert first.is_completed() and server_run(first).name == "support-for-ukraine-2025-03-01"
    edit(seed_copy)  # new content the same day: a revision, and the run says so
    second = build(str(seed_copy), output_dir=str(output), return_state=True)
    assert second.is_completed() and server_run(second).name == "support-for-ukraine-2025-03-01-r2"


def test_build_all_runs_and_runs_that_fail_before_publishing_are_named_alike(
    seed_copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    output = tmp_path / "output"
    only(seed_copy, "docx")
    other = seed_copy.with_name("second-brief")
    shutil.copytree(seed_copy, other)
    both = build_all([str(seed_copy), str(other)], output_dir=str(output), return_state=True)
    assert both.is_completed(), both.message
    assert server_run(both).name == "support-for-ukraine-2025-03-01+second-brief-2025-03-01"

    edit(seed_copy)
    monkeypatch.setenv(FAULT_ENV, "docx")  # the export fails: nothing is published, the run says what it was making
    failed = build(str(seed_copy), output_dir=str(output), return_state=True)
    assert failed.is_failed() and server_run(failed).name == "support-for-ukraine-2025-03-01"
    state = build_and_publish(str(seed_copy), str(output), return_state=True)
    assert state.is_failed() and server_run(state).name == "support-for-ukraine-2025-03-01"
    (other / "publication.yaml").write_text("title: [unclosed\n", encoding="utf-8")  # invalid: no edition to name
    invalid = build_all([str(seed_copy), str(other)], output_dir=str(output), return_state=True)
    assert invalid.is_failed() and server_run(invalid).name == "support-for-ukraine-2025-03-01+second-brief"


def test_a_build_and_publish_run_and_its_build_are_named_alike(seed_copy: Path, tmp_path: Path) -> None:
    only(seed_copy, "docx")
    state = build_and_publish(str(seed_copy), str(tmp_path / "output"), return_state=True)
    assert state.is_completed(), state.message
    run = server_run(state)
    assert run.name == "support-for-ukraine-2025-03-01"
    assert "support-for-ukraine-2025-03-01" in [r.name for r in child_runs(run)]  # the build (beside the publish run)


def test_a_locked_publication_makes_the_run_wait_then_end_cancelled(
    seed_copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "output"
    only(seed_copy, "docx")
    monkeypatch.setenv("BRIEFKIT_LOCK_WAIT_SECONDS", "3")
    said: list[str] = []

    def listen(publication_id: str, message: str) -> None:
        said.append(message)

    add_listener(listen)
    try:
        with publishing.lock(output, seed_copy.name, "the test's own build"):
            started = time.monotonic()
            state = build_and_publish(str(seed_copy), str(output), return_state=True)
            waited = time.monotonic() - started
    finally:
        remove_listener(listen)
    assert said[0].startswith("locked by the test's own build (pid ") and said[0].endswith(": waiting up to 3 s")
    assert said[1:] == ["locked"]  # the run's log says so too
    assert state.is_cancelled() and waited >= 3
    assert "is already being built by the test's own build" in state.message and "waited 3 s" in state.message
    run = server_run(state)
    assert run.state_type == StateType.CANCELLED and "the test's own build" in (run.state.message or "")
    assert [r.state_type for r in child_runs(run)] == [StateType.CANCELLED]  # the build; no publish run
    assert not latest_dir(output, seed_copy.name).exists()  # nothing built, nothing published
    assert re.search(
        r"^support-for-ukraine  Cancelled  no edition  \d+\.\d s", capfd.readouterr().out, re.M
    )  # serve's line


def test_a_run_waiting_for_the_lock_builds_once_it_is_released(seed_copy: Path, tmp_path: Path) -> None:
    output = tmp_path / "output"
    only(seed_copy, "docx")
    held = threading.Event()

    def hold() -> None:
        with publishing.lock(output, seed_copy.name, "a short build"):
            held.set()
            time.sleep(2)

    holder = threading.Thread(target=hold)
    holder.start()
    held.wait(10)
    state = build_and_publish(str(seed_copy), str(output), lock_wait=60, return_state=True)
    holder.join()
    assert state.is_completed(), state.message
    assert latest_dir(output, seed_copy.name).is_symlink()


def test_an_on_demand_build_of_a_locked_publication_is_cancelled_at_once(seed_copy: Path, tmp_path: Path) -> None:
    output = tmp_path / "output"
    with publishing.lock(output, seed_copy.name, "the scheduled build"):
        started = time.monotonic()
        state = build(str(seed_copy), output_dir=str(output), return_state=True)
        assert time.monotonic() - started < 30
    assert state.is_cancelled() and "already being built by the scheduled build" in state.message
    error = state.result(raise_on_failure=False)
    assert [o.status for o in error.outcomes] == ["locked"]


def test_a_publications_own_timezone_is_its_deployments_schedule_timezone(seed_copy: Path, tmp_path: Path) -> None:
    from flows.serve import plan, prefect_yaml, runner_deployments

    other = tmp_path / "source" / "second-brief"
    shutil.copytree(seed_copy, other)
    only(seed_copy, more="timezone: Asia/Tokyo\n")
    planned = plan([seed_copy, other], "0 7 * * *", "Europe/Kyiv")
    deployments = runner_deployments(planned, 0, tmp_path / "output")
    with get_client(sync_client=True) as client:
        served = {d.name: client.read_deployment(d.apply()) for d in deployments}  # as the server has them
    zones = {name: [(str(s.schedule.cron), s.schedule.timezone) for s in d.schedules] for name, d in served.items()}
    assert zones == {
        "support-for-ukraine": [("0 6 * * 1-5", "Asia/Tokyo")],
        "second-brief": [("0 6 * * 1-5", "Europe/Kyiv")],
    }
    written = yaml.safe_load(prefect_yaml(planned, "briefkit"))  # briefkit deploy: the same schedules
    assert {d["name"]: d["schedules"] for d in written["deployments"]} == {
        "support-for-ukraine": [{"cron": "0 6 * * 1-5", "timezone": "Asia/Tokyo"}],
        "second-brief": [{"cron": "0 6 * * 1-5", "timezone": "Europe/Kyiv"}],
    }
