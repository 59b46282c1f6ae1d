"""The build flows on Prefect's test harness, with the real exporters in a real process pool."""

from __future__ import annotations

import dataclasses
import gc
import os
import pickle
import shutil
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from uuid import UUID

import pytest
from prefect import flow, task
from prefect.cache_policies import NO_CACHE
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId, FlowRunFilter, FlowRunFilterId
from prefect.context import serialize_context
from prefect.settings import PREFECT_TASKS_DEFAULT_RETRIES, Settings, get_current_settings, temporary_settings
from prefect.testing.utilities import prefect_test_harness

from briefkit.manifest import MANIFEST, Manifest, latest_dir, published_editions, read_manifest, sha256_file
from briefkit.model import Publication
from exporters.registry import registry
from flows.build import (
    _IO_RETRIES,
    CORRUPT_ENV,
    FAULT_ENV,
    BuildFailed,
    BuildTaskRunner,
    Outcome,
    Sealed,
    _forked,
    _Job,
    _longest_chain,
    _retry_io,
    build,
    build_all,
    check_file,
    dask_problem,
    default_task_runner,
    publish,
    verify_file,
)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module", autouse=True)
def harness() -> Iterator[None]:
    """One temporary Prefect server for every flow test (it takes seconds to start)."""
    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture(params=["flow-process", "workers"])
def placement(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Where the tasks run: the seed is small enough for the flow process's threads; with no
    lower bound on size, the same build uses the worker processes."""
    if request.param == "workers":
        monkeypatch.setenv("BRIEFKIT_WORKER_MIN_BYTES", "0")
    return str(request.param)


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


def artifact_text(state: object) -> str:
    flow_run_id: UUID = state.state_details.flow_run_id  # type: ignore[attr-defined]
    with get_client(sync_client=True) as client:
        found = client.read_artifacts(
            artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id]))
        )
    return "\n".join(str(a.data) for a in found)


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


def test_build_publishes_every_format_then_is_up_to_date(seed_copy: Path, tmp_path: Path, placement: str) -> None:
    output = tmp_path / "output"
    state, outcomes = run(seed_copy, output)
    assert state.is_completed(), state.message
    assert [o.status for o in outcomes] == ["published"]
    manifest = assert_consistent(output, seed_copy.name)
    assert {f.format for f in manifest.files} == set(registry())
    assert manifest.exporter_versions == {name: e.version for name, e in registry().items()}
    assert manifest.edition.isoformat() == "2025-03-01" and (output / seed_copy.name / "2025-03-01").is_dir()
    assert {f"export.{fmt}" for fmt in registry()} <= set(manifest.timings)
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


def test_crash_in_one_exporter_keeps_the_last_good_edition(
    seed_copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, placement: str
) -> None:
    """The documented fault hook makes the pdf export task raise after its exporter wrote the file."""
    output = tmp_path / "output"
    state, _ = run(seed_copy, output, formats=["docx", "pdf"])
    assert state.is_completed(), state.message
    good = assert_consistent(output, seed_copy.name)

    passage = next((seed_copy / "passages").glob("*.md"))
    passage.write_text(
        passage.read_text(encoding="utf-8") + "\nA sentence added after the last edition.\n", encoding="utf-8"
    )
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


@pytest.mark.parametrize("fmt", sorted(registry()))
def test_a_file_that_fails_verification_fails_the_run(
    seed_copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fmt: str
) -> None:
    """The documented fault hook cuts the written file in half; reading it back must notice."""
    output = tmp_path / "output"
    state, _ = run(seed_copy, output, formats=[fmt])
    assert state.is_completed(), state.message
    good = assert_consistent(output, seed_copy.name)

    monkeypatch.setenv(CORRUPT_ENV, fmt)
    state, error = run(seed_copy, output, formats=[fmt], force=True)
    assert state.is_failed()
    assert "VerificationError" in state.message and "failed verification" in state.message
    assert isinstance(error, BuildFailed) and error.outcomes[0].status == "failed"
    assert assert_consistent(output, seed_copy.name) == good  # the last good edition, untouched


def test_a_long_read_back_is_verified_in_parts_across_the_workers(
    seed_copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With no least length for a part, the PDF's read-back (an exporter that reads back
    ranges) is split one part per worker; the docx (which reads back whole files) is not.
    Parts verify as the whole does: a corrupted file still fails the run."""
    monkeypatch.setenv("BRIEFKIT_WORKER_MIN_BYTES", "0")
    monkeypatch.setenv("BRIEFKIT_VERIFY_PART_SECONDS", "0")
    output, pid = tmp_path / "output", seed_copy.name
    three_workers = build.with_options(task_runner=BuildTaskRunner(3))
    state = three_workers(str(seed_copy), formats=["docx", "pdf"], output_dir=str(output), return_state=True)
    assert state.is_completed(), state.message
    verified = [name for name in task_names(state) if name.startswith("verify-")]
    assert verified == [f"verify-docx-{pid}", *(f"verify-pdf-{pid}-part-{n}-of-3" for n in (1, 2, 3))]
    good = assert_consistent(output, pid)
    assert {"verify.pdf", "check.pdf"} <= set(good.timings)

    monkeypatch.setenv(CORRUPT_ENV, "pdf")
    state = three_workers(
        str(seed_copy), formats=["docx", "pdf"], output_dir=str(output), force=True, return_state=True
    )
    assert state.is_failed() and "failed verification" in state.message
    assert assert_consistent(output, pid) == good


def test_two_concurrent_runs_leave_one_consistent_edition(seed_copy: Path, tmp_path: Path) -> None:
    output = tmp_path / "output"
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
    assert len(published_editions(output, seed_copy.name)) == 1


def test_build_all_rebuilds_only_the_edited_publication(seed_copy: Path, tmp_path: Path) -> None:
    output = tmp_path / "output"
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


# ---- the process pool's workers and what they are sent ------------------------------------


def _where_am_i() -> tuple[int, bool]:
    return os.getppid(), "flows.workers" in sys.modules


def test_workers_are_forked_from_a_fork_server_that_made_their_imports() -> None:
    pool = _forked(ProcessPoolExecutor(1))  # as BuildTaskRunner does with Prefect's executor
    with pool:
        parent, preloaded = pool.submit(_where_am_i).result(timeout=120)
    assert pool._mp_context.get_start_method() == "forkserver"  # type: ignore[attr-defined]
    assert parent != os.getpid()  # the fork server's child, not this process's
    assert preloaded  # no initializer ran here: the server had imported flows.workers


def test_a_sealed_model_is_pickled_once_and_unpickled_once_per_process(seed: Publication) -> None:
    sealed = Sealed(seed)
    sent = [pickle.dumps(sealed) for _ in range(3)]  # one per task given the model
    assert sent[0] == sent[1] == sent[2]
    received = [pickle.loads(data) for data in sent]
    assert received[0] is received[1] is received[2]
    assert received[0].value == seed and received[0] is not sealed


@task(cache_policy=NO_CACHE)
def _retries_setting_and_process() -> tuple[int, int]:
    return get_current_settings().tasks.default_retries, os.getpid()


@flow(task_runner=BuildTaskRunner(1))
def _settings_flow() -> tuple[object, tuple[int, int]]:
    return serialize_context()["settings_context"]["settings"], _retries_setting_and_process.submit().result()


def test_workers_get_the_flows_settings_as_objects() -> None:
    """A worker uses the settings of the flow that sent it the task, settings that only the
    flow's context holds; they travel as the objects, not as a dict the worker rebuilds."""
    with temporary_settings({PREFECT_TASKS_DEFAULT_RETRIES: 7}):
        sent, (retries, pid) = _settings_flow()
    assert isinstance(sent, Settings) and sent.tasks.default_retries == 7
    assert retries == 7 and pid != os.getpid()


def test_only_a_chain_known_to_be_longest_goes_before_the_others(seed: Publication, tmp_path: Path) -> None:
    """The fan-out sorts chains longest first by the last build's timings; the first then
    runs at normal priority and the rest in the background, unless nothing is known."""
    known = _Job(seed, tmp_path, 0.0, {"export.pdf": 1.8, "verify.pdf": 0.6, "export.docx": 0.3})
    chains = sorted(((known, fmt) for fmt in ("docx", "epub", "pdf")), key=lambda pair: -pair[0].cost(pair[1]))
    assert _longest_chain(chains) == (known, "pdf")
    unknown = _Job(seed, tmp_path, 0.0, {})  # a first build
    assert _longest_chain([(unknown, fmt) for fmt in ("docx", "epub", "pdf")]) is None
    assert _longest_chain([]) is None


def test_a_sealed_model_is_pickled_and_unpickled_with_no_garbage_collection(seed: Publication) -> None:
    """The collector would walk the flow process's whole heap every few hundred objects;
    and a worker freezes the model it received, which no collection need walk again."""
    large = dataclasses.replace(seed, passages=seed.passages * 100)
    collections: list[str] = []

    def count(phase: str, info: dict[str, int]) -> None:
        collections.append(phase)

    gc.callbacks.append(count)
    frozen = gc.get_freeze_count()
    try:
        data = pickle.dumps(Sealed(large))
        received = pickle.loads(data)
        assert gc.get_freeze_count() > frozen
    finally:
        gc.callbacks.remove(count)
        gc.unfreeze()  # this test process is no worker
    assert collections == [] and received.value == large


def test_a_read_back_is_split_as_its_last_time_repays_and_no_finer_than_its_passages(
    seed: Publication, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def parts(publication: Publication, fmt: str, last: float, workers: int) -> list[range | None]:
        return _Job(publication, tmp_path, 0.0, {f"verify.{fmt}": last}).verification_parts(fmt, workers)

    assert parts(seed, "pdf", 0.6, 2) == [range(0, 5), range(5, 10)]  # 0.25 s at least a part
    assert parts(seed, "pdf", 0.6, 1) == parts(seed, "pdf", 0.1, 2) == [None]
    assert parts(seed, "docx", 5.0, 2) == [None]  # docx files are read back whole
    monkeypatch.setenv("BRIEFKIT_VERIFY_PART_SECONDS", "0")
    assert parts(seed, "pdf", 0.0, 4) == [range(0, 2), range(2, 5), range(5, 7), range(7, 10)]
    assert parts(dataclasses.replace(seed, passages=seed.passages[:1]), "pdf", 0.0, 4) == [None]


def test_build_fans_out_on_a_dask_cluster_when_given_its_address(seed_copy: Path, tmp_path: Path) -> None:
    from distributed import LocalCluster

    output = tmp_path / "output"
    # A real scheduler on a TCP port of 127.0.0.1; its worker runs in this process, where the
    # test harness's Prefect API is configured.
    with LocalCluster(
        n_workers=1, threads_per_worker=2, processes=False, protocol="tcp://", host="127.0.0.1", dashboard_address=None
    ) as cluster:
        assert dask_problem(cluster.scheduler_address) is None  # what the command asks first
        runner = default_task_runner(cluster.scheduler_address)
        assert type(runner).__name__ == "DaskTaskRunner"
        state = build.with_options(task_runner=runner)(str(seed_copy), output_dir=str(output), return_state=True)
        ran_on_dask = set(cluster.scheduler.task_prefixes)
    assert state.is_completed(), state.message
    assert {"export", "verify_file", "check_file"} <= ran_on_dask  # the tasks' functions
    manifest = assert_consistent(output, seed_copy.name)
    assert {f.format for f in manifest.files} == set(registry())


# ---- retries ------------------------------------------------------------------------------

_calls: list[str] = []


def _flaky(error: type[Exception]) -> str:
    """Fails on its first call, as a file system that is briefly unavailable does."""
    _calls.append(error.__name__)
    if len(_calls) == 1:
        raise error("briefly unavailable")
    return "done"


def test_tasks_that_touch_files_retry_io_errors_with_backoff_and_nothing_else() -> None:
    for touching in (verify_file, check_file, publish):
        assert touching.retries == 2 and touching.retry_condition_fn is _retry_io
    flaky = task(_flaky, **_IO_RETRIES)

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
