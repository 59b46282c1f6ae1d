"""The build flows on Prefect's test harness, with the real exporters in a real process pool."""

from __future__ import annotations

import logging
import shutil
import threading
from pathlib import Path
from uuid import UUID

import pytest
from prefect import flow, task
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import (
    ArtifactFilter,
    ArtifactFilterFlowRunId,
    FlowRunFilter,
    FlowRunFilterId,
    LogFilter,
    LogFilterFlowRunId,
)
from prefect.logging.handlers import APILogHandler

from briefkit.manifest import MANIFEST, Manifest, latest_dir, published_editions, read_manifest, sha256_file
from exporters import registry
from flows.build import (
    CORRUPT_ENV,
    FAULT_ENV,
    IO_RETRIES,
    BuildFailed,
    Outcome,
    build,
    build_all,
    publish,
    retry_on_io_error,
    verify,
)
from flows.runners import dask_problem, task_runner

pytestmark = pytest.mark.slow


@pytest.fixture(autouse=True)
def server(prefect_server: str) -> str:
    """Every flow test reports to the session's Prefect server (tests/conftest.py)."""
    return prefect_server


def run(publication: Path | list[Path], output: Path, **options: object) -> tuple[object, list[Outcome] | BuildFailed]:
    """Run build (one publication) or build_all (several); the state and its result or error."""
    if isinstance(publication, list):
        state = build_all([str(p) for p in publication], output_dir=str(output), return_state=True, **options)
    else:
        state = build(str(publication), output_dir=str(output), return_state=True, **options)
    return state, state.result(raise_on_failure=False)


def task_names(state: object) -> list[str]:
    flow_run_id: UUID = state.state_details.flow_run_id  # type: ignore[attr-defined]
    with get_client(sync_client=True) as client:
        return sorted(
            t.name for t in client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id])))
        )


def task_states(state: object) -> dict[str, str]:
    flow_run_id: UUID = state.state_details.flow_run_id  # type: ignore[attr-defined]
    with get_client(sync_client=True) as client:
        runs = client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id])))
    return {t.name: t.state_type.value for t in runs}


def error_logs(state: object) -> list[str]:
    flow_run_id: UUID = state.state_details.flow_run_id  # type: ignore[attr-defined]
    APILogHandler().flush()  # logs go to the server in batches
    with get_client(sync_client=True) as client:
        logs = client.read_logs(log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[flow_run_id])))
    return [log.message for log in logs if log.level >= logging.ERROR]


def artifact_keys(state: object) -> list[str]:
    flow_run_id: UUID = state.state_details.flow_run_id  # type: ignore[attr-defined]
    with get_client(sync_client=True) as client:
        found = client.read_artifacts(
            artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id]))
        )
    return sorted(str(a.key) for a in found)


def artifact_text(state: object) -> str:
    flow_run_id: UUID = state.state_details.flow_run_id  # type: ignore[attr-defined]
    with get_client(sync_client=True) as client:
        found = client.read_artifacts(
            artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id]))
        )
    return "\n".join(str(a.data) for a in found)


def only(publication: Path, *formats: str, more: str = "") -> None:
    """List ``formats`` in the publication's yaml (every edition holds them, no other), and ``more`` keys."""
    yaml_path = publication / "publication.yaml"
    listed = f"formats: [{', '.join(formats)}]\n" if formats else ""
    yaml_path.write_text(yaml_path.read_text(encoding="utf-8") + listed + more, encoding="utf-8")


def edit(publication: Path, sentence: str = "A sentence added after the last edition.") -> None:
    passage = next((publication / "passages").glob("*.md"))
    passage.write_text(passage.read_text(encoding="utf-8") + f"\n{sentence}\n", encoding="utf-8")


def hashes(directory: Path) -> dict[str, str]:
    return {p.name: sha256_file(p) for p in sorted(directory.iterdir())}


def assert_consistent(output: Path, publication_id: str) -> Manifest:
    """latest is one complete edition: every file listed, with its size and checksum; no leftovers."""
    latest = latest_dir(output, publication_id)
    manifest = read_manifest(latest)
    assert manifest is not None
    assert sorted(p.name for p in latest.iterdir()) == sorted([MANIFEST, *(f.name for f in manifest.files)])
    for f in manifest.files:
        assert (latest / f.name).stat().st_size == f.bytes
        assert sha256_file(latest / f.name) == f.sha256
    staging = output / publication_id / ".staging"
    assert not staging.exists() or not any(staging.iterdir())
    return manifest


def test_build_publishes_every_format_then_is_up_to_date(seed_copy: Path, tmp_path: Path) -> None:
    output = tmp_path / "output"
    state, outcomes = run(seed_copy, output)
    assert state.is_completed(), state.message
    assert [o.status for o in outcomes] == ["published"]
    manifest = assert_consistent(output, seed_copy.name)
    assert {f.format for f in manifest.files} == set(registry.names())
    assert manifest.exporter_versions == registry.versions(registry.names())
    assert manifest.edition.isoformat() == "2025-03-01" and (output / seed_copy.name / "2025-03-01").is_dir()
    assert {f"export.{fmt}" for fmt in registry.names()} <= set(manifest.timings)
    report = artifact_text(state)
    assert all(f.sha256 in report and f"{f.bytes:,}" in report for f in manifest.files)

    again, outcomes = run(seed_copy, output)
    assert again.is_completed() and [o.status for o in outcomes] == ["up to date"]
    assert task_names(again) == [f"check-up-to-date-{seed_copy.name}", f"validate-{seed_copy.name}"]  # no exporter ran
    assert read_manifest(latest_dir(output, seed_copy.name)) == manifest


def test_validation_failure_fails_the_run_and_publishes_nothing(seed_copy: Path, tmp_path: Path) -> None:
    output = tmp_path / "output"
    passage = next((seed_copy / "passages").glob("*.md"))
    passage.write_text("---\ntitle: Broken\ncolour: blue\n---\n", encoding="utf-8")  # unknown key, empty body
    state, error = run(seed_copy, output)
    assert state.is_failed()
    assert isinstance(error, BuildFailed)
    [outcome] = error.outcomes
    assert outcome.status == "invalid" and {d.code for d in outcome.diagnostics} >= {"BK105", "BK107"}
    assert "validation error" in state.message
    assert not (output / seed_copy.name).exists()
    assert "BK105" in artifact_text(state)
    assert not any(name.startswith("export") for name in task_names(state))
    assert task_states(state)[f"validate-{seed_copy.name}"] == "FAILED"  # legible in the UI
    errors = error_logs(state)
    assert any("error BK105" in line for line in errors) and not any("Traceback" in line for line in errors)
    assert artifact_keys(state) == [f"build-{seed_copy.name}"]  # one artifact per publication


def test_crash_in_one_exporter_keeps_the_last_good_edition(
    seed_copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The documented fault hook makes the pdf export task raise after its exporter wrote the file."""
    output = tmp_path / "output"
    only(seed_copy, "docx", "pdf")
    state, _ = run(seed_copy, output, formats=["docx", "pdf"])
    assert state.is_completed(), state.message
    good = assert_consistent(output, seed_copy.name)

    edit(seed_copy)
    monkeypatch.setenv(FAULT_ENV, "pdf")
    state, error = run(seed_copy, output, formats=["docx", "pdf"])
    assert state.is_failed()
    assert "InjectedFault: fault injected into the pdf export" in state.message
    assert isinstance(error, BuildFailed) and error.outcomes[0].status == "failed"
    assert assert_consistent(output, seed_copy.name) == good  # same files, same checksums

    monkeypatch.delenv(FAULT_ENV)
    state, _ = run(seed_copy, output, formats=["docx", "pdf"])
    assert state.is_completed(), state.message
    assert assert_consistent(output, seed_copy.name).content_hash != good.content_hash


@pytest.mark.parametrize("fmt", registry.names())
def test_a_file_that_fails_verification_fails_the_run(
    seed_copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fmt: str
) -> None:
    """The documented fault hook cuts the written file in half; reading it back must notice."""
    output = tmp_path / "output"
    only(seed_copy, fmt)
    state, _ = run(seed_copy, output, formats=[fmt])
    assert state.is_completed(), state.message
    good = assert_consistent(output, seed_copy.name)

    monkeypatch.setenv(CORRUPT_ENV, fmt)
    state, error = run(seed_copy, output, formats=[fmt], force=True)
    assert state.is_failed()
    assert "VerificationError" in state.message and "failed verification" in state.message
    assert isinstance(error, BuildFailed) and error.outcomes[0].status == "failed"
    assert assert_consistent(output, seed_copy.name) == good  # the last good edition, untouched


def test_two_concurrent_runs_leave_one_consistent_edition(seed_copy: Path, tmp_path: Path) -> None:
    output = tmp_path / "output"
    only(seed_copy, "docx", "pdf")
    results: list[tuple[object, object]] = []
    threads = [
        threading.Thread(target=lambda: results.append(run(seed_copy, output, formats=["docx", "pdf"], force=True)))
        for _ in range(2)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    completed = [s for s, _ in results if s.is_completed()]
    refused = [s for s, _ in results if not s.is_completed()]
    assert completed, [s.message for s, _ in results]
    for state in refused:  # the loser (if they overlapped) is told who holds the lock
        assert "is already being built by flow run" in state.message
    assert_consistent(output, seed_copy.name)
    assert len(published_editions(output, seed_copy.name)) == 1  # the second run made the same bytes again


def test_build_all_rebuilds_only_the_edited_publication(seed_copy: Path, tmp_path: Path) -> None:
    output = tmp_path / "output"
    only(seed_copy, "docx")
    other = seed_copy.with_name("second-brief")
    shutil.copytree(seed_copy, other)
    state, outcomes = run([seed_copy, other], output, formats=["docx"])
    assert state.is_completed(), state.message
    assert [(o.publication_id, o.status) for o in outcomes] == [
        (seed_copy.name, "published"),
        ("second-brief", "published"),
    ]

    passage = next((other / "passages").glob("*.md"))
    passage.write_text(passage.read_text(encoding="utf-8").replace("Ukraine", "Ukraine's people", 1), encoding="utf-8")
    state, outcomes = run([seed_copy, other], output, formats=["docx"])
    assert state.is_completed(), state.message
    assert [(o.publication_id, o.status) for o in outcomes] == [
        (seed_copy.name, "up to date"),
        ("second-brief", "published"),
    ]
    assert [n for n in task_names(state) if n.startswith("export")] == ["export-docx-second-brief"]


# ---- where the tasks run --------------------------------------------------------------------


def test_build_fans_out_on_a_dask_cluster_when_given_its_address(seed_copy: Path, tmp_path: Path) -> None:
    from distributed import LocalCluster

    output = tmp_path / "output"
    # A real scheduler on a TCP port of 127.0.0.1; its worker runs in this process, where the
    # test harness's Prefect API is configured.
    with LocalCluster(
        n_workers=1, threads_per_worker=2, processes=False, protocol="tcp://", host="127.0.0.1", dashboard_address=None
    ) as cluster:
        assert dask_problem(cluster.scheduler_address) is None  # what the command asks first
        runner = task_runner(cluster.scheduler_address)
        assert type(runner).__name__ == "DaskTaskRunner"
        state = build.with_options(task_runner=runner)(str(seed_copy), output_dir=str(output), return_state=True)
        ran_on_dask = set(cluster.scheduler.task_prefixes)
    assert state.is_completed(), state.message
    assert {"export", "verify"} <= ran_on_dask  # the tasks' functions
    manifest = assert_consistent(output, seed_copy.name)
    assert {f.format for f in manifest.files} == set(registry.names())


# ---- retries ------------------------------------------------------------------------------

_calls: list[str] = []


def _flaky(error: type[Exception]) -> str:
    """Fails on its first call, as a file system that is briefly unavailable does."""
    _calls.append(error.__name__)
    if len(_calls) == 1:
        raise error("briefly unavailable")
    return "done"


def test_tasks_that_touch_files_retry_io_errors_with_backoff_and_nothing_else() -> None:
    for touching in (verify, publish):
        assert touching.retries == 2 and touching.retry_condition_fn is retry_on_io_error
    flaky = task(_flaky, **IO_RETRIES)

    @flow
    def attempt(error: type[Exception]) -> str:
        return flaky(error)

    _calls.clear()
    assert attempt(OSError) == "done"
    assert _calls == ["OSError", "OSError"]  # retried after the back-off
    _calls.clear()
    with pytest.raises(ValueError):
        attempt(ValueError)
    assert _calls == ["ValueError"]  # bad output is not retried
