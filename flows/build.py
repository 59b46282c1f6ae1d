"""The build flows: validate, fan out to the exporters in parallel, verify, publish atomically.

``build`` makes one publication, ``build_all`` many (publications x formats fan out
together). Per publication: load and validate; take its lock; skip everything when the
latest manifest already matches (sources, theme, briefkit and exporter versions); else
export every format at once in the task runner (processes by default, a Dask cluster when
``BRIEFKIT_DASK_ADDRESS`` or ``--dask`` names one), verify each file (read it back, and run
the format's check), and publish the edition with ``briefkit.publishing``. The default
runner forks its workers from a fork server (flows.forking) and starts them at the
beginning of a run that will have work to do, so their start-up overlaps validation. It
runs in threads of the flow process the checks that wait on another program (epubcheck,
in its daemon) and every task of a build too small to be worth workers
(briefkit.estimates). Exports start longest first, by the last build's timings, and
every task but those of the longest export runs at low CPU priority (flows.priority); a
long read-back is split across the workers.
Formatting lives in the exporters, publishing mechanics in briefkit.publishing; this
module only orchestrates.

Fault hooks, for testing failure handling with real components, each a comma-separated list
of formats: ``BRIEFKIT_FAULT_EXPORT`` makes those export tasks raise after their exporter
has written its file, as a crash mid-run would; ``BRIEFKIT_FAULT_CORRUPT`` makes them cut
their file to half its length, as a failing disk would, for verification to catch.
"""

from __future__ import annotations

import gc
import os
import pickle
import re
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, Self, TypeVar

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from prefect.context import SettingsContext, get_run_context
from prefect.futures import PrefectFuture, as_completed
from prefect.states import Failed, State
from prefect.task_runners import ProcessPoolTaskRunner, TaskRunner, ThreadPoolTaskRunner
from prefect.tasks import Task, exponential_backoff
from prefect.utilities.annotations import quote

from briefkit import estimates, publishing
from briefkit.diagnostics import Diagnostic
from briefkit.loader import load_publication, locate_publication, publication_dirs
from briefkit.manifest import Manifest, ManifestFile, PassageSummary, briefkit_version, read_manifest, sha256_file
from briefkit.model import Publication
from briefkit.settings import get_settings
from exporters.registry import registry
from exporters.verify import VerificationError, read_back_problems
from flows import forking, priority

FAULT_ENV = "BRIEFKIT_FAULT_EXPORT"
CORRUPT_ENV = "BRIEFKIT_FAULT_CORRUPT"
T = TypeVar("T")


class InjectedFault(RuntimeError):
    """Raised by the documented fault hook, never in normal operation."""


class BuildFailed(RuntimeError):
    """At least one publication was invalid or failed; carries every outcome."""

    def __init__(self, outcomes: list[Outcome]) -> None:
        self.outcomes = outcomes
        super().__init__("; ".join(f"{o.publication_id}: {o.reason}" for o in outcomes if not o.ok))


@dataclass(frozen=True)
class Outcome:
    """What one build did for one publication."""

    publication_id: str
    status: str  # "published", "up to date", "invalid" or "failed"
    reason: str = ""
    diagnostics: tuple[Diagnostic, ...] = ()
    manifest: Manifest | None = None
    directory: Path | None = None

    @property
    def ok(self) -> bool:
        return self.status in ("published", "up to date")


@dataclass(frozen=True)
class Exported:
    file: ManifestFile
    path: Path
    seconds: float


# ---- progress: the CLI listens; deployments run without a listener -------------------

Listener = Callable[[str, str], None]  # (publication id, what happened)
_listeners: list[Listener] = []


def add_listener(listener: Listener) -> None:
    _listeners.append(listener)


def remove_listener(listener: Listener) -> None:
    _listeners.remove(listener)


def _progress(publication_id: str, message: str) -> None:
    get_run_logger().info("%s: %s", publication_id, message)
    for listener in _listeners:
        listener(publication_id, message)


# ---- tasks ----------------------------------------------------------------------------


class Sealed(Generic[T]):
    """A model handed to tasks as one opaque object, pickled once, unpickled once per process.

    Prefect walks task parameters looking for futures, several times per task (0.3 s a
    walk for a 1,000-passage publication). quote() stops that for tasks called here, but
    Dask unpacks it on the way to its workers; a plain object is walked by neither.
    A worker process gets the model for each of its tasks: pickling and unpickling it every
    time cost 0.25 s of CPU per task for 1,000 passages, so one Sealed is pickled once and
    each process keeps what it unpickled (see _unseal).
    """

    __slots__ = ("_key", "_lock", "_pickled", "value")

    def __init__(self, value: T, key: str = "", pickled: bytes = b"") -> None:
        self.value = value
        self._key = key or uuid.uuid4().hex
        self._pickled = pickled
        self._lock = threading.Lock()  # tasks are pickled in several threads at once

    def pickled(self) -> bytes:
        """The value pickled, the first call pickling it (never, when every task runs here)."""
        with self._lock:
            if not self._pickled:
                with _collector_paused():
                    self._pickled = pickle.dumps(self.value, protocol=pickle.HIGHEST_PROTOCOL)
        return self._pickled

    def __reduce__(self) -> tuple[Callable[[str, bytes], Sealed[T]], tuple[str, bytes]]:
        return _unseal, (self._key, self.pickled())


_unsealed: dict[str, Sealed[Any]] = {}  # the latest few models this process was sent


def _unseal(key: str, pickled: bytes) -> Sealed[Any]:
    if key not in _unsealed:
        with _collector_paused():
            _unsealed[key] = Sealed(pickle.loads(pickled), key, pickled)
            # The model lives as long as the process: frozen, no collection walks it again.
            # (It is acyclic, so a model dropped later is still freed, by reference counts.)
            gc.freeze()
        while len(_unsealed) > 8:  # a worker of build-all sees many publications
            del _unsealed[next(iter(_unsealed))]
    return _unsealed[key]


@contextmanager
def _collector_paused() -> Iterator[None]:
    """No cyclic garbage collection inside. Pickling a model makes tens of thousands of
    objects and no garbage (tuples of each object's state; the objects themselves, when
    unpickling), and the collector, running after every few hundred of them, walks a flow
    process's heap of Prefect objects: pickling 1,000 passages there took 60 ms instead of
    27, and unpickling four times as long."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()


def _retry_io(task: object, task_run: object, state: object) -> bool:
    """Retry only what the outside world may fix: I/O errors, not bad output."""
    try:
        state.result()  # type: ignore[attr-defined]
    except OSError:
        return True
    except BaseException:  # noqa: BLE001 - any other failure is final
        return False
    return False


_IO_RETRIES = {
    "retries": 2,
    "retry_delay_seconds": exponential_backoff(backoff_factor=1),
    "retry_condition_fn": _retry_io,
}


@task(name="validate", task_run_name="validate-{directory.name}", cache_policy=NO_CACHE)
def validate(directory: Path, strict: bool) -> tuple[Publication | None, list[Diagnostic]]:
    publication, diagnostics = load_publication(directory)
    if strict and diagnostics:
        publication = None
    return publication, diagnostics


@task(name="check-up-to-date", task_run_name="check-up-to-date-{publication.id}", cache_policy=NO_CACHE)
def check_up_to_date(publication: Publication, formats: list[str], output: Path) -> Manifest | None:
    versions = {fmt: registry()[fmt].version for fmt in formats}
    return publishing.up_to_date(output, publication, versions, briefkit_version())


@task(name="export", task_run_name="export-{fmt}-{publication.value.id}", cache_policy=NO_CACHE)
def export(publication: Sealed[Publication], fmt: str, staging: Path, background: bool = False) -> Exported:
    """Write the file; ``background``: at low CPU priority, off the build's longest path (flows.priority)."""
    start = time.perf_counter()
    path = priority.call(background, registry()[fmt].export, publication.value, staging)
    if fmt in os.environ.get(FAULT_ENV, "").split(","):
        raise InjectedFault(f"fault injected into the {fmt} export by {FAULT_ENV}")
    if fmt in os.environ.get(CORRUPT_ENV, "").split(","):
        os.truncate(path, path.stat().st_size // 2)
    seconds = time.perf_counter() - start
    return Exported(ManifestFile(path.name, fmt, path.stat().st_size, sha256_file(path)), path, seconds)


@task(
    name="verify",
    task_run_name="verify-{exported.file.format}-{publication.value.id}",
    cache_policy=NO_CACHE,
    **_IO_RETRIES,
)
def verify_file(
    publication: Sealed[Publication], exported: Exported, passages: range | None = None, background: bool = False
) -> float:
    """Read the file back, or the part of it that holds ``passages``, and compare it with the canonical text."""
    start = time.perf_counter()
    if problems := priority.call(
        background, read_back_problems, publication.value, registry()[exported.file.format], exported.path, passages
    ):
        raise VerificationError(exported.path, tuple(problems))
    return time.perf_counter() - start


@task(name="check", task_run_name="check-{exported.file.format}-{publication_id}", cache_policy=NO_CACHE, **_IO_RETRIES)
def check_file(exported: Exported, publication_id: str, background: bool = False) -> float:
    """The format's own validator (e.g. epubcheck) on the file."""
    start = time.perf_counter()
    if problems := priority.call(background, registry()[exported.file.format].check, exported.path):  # type: ignore[arg-type]
        raise VerificationError(exported.path, tuple(problems))
    return time.perf_counter() - start


# The same tasks, for the flow process's threads (see BuildTaskRunner). Told apart by
# identity, not by a tag: for a tagged task, every run asks the server for the tag's
# concurrency limits, and a busy SQLite server answers 503, which costs a 2 s back-off.
export_in_flow, verify_in_flow, check_in_flow = (t.with_options() for t in (export, verify_file, check_file))
_IN_FLOW = frozenset(id(t) for t in (export_in_flow, verify_in_flow, check_in_flow))


@task(name="publish", task_run_name="publish-{manifest.publication_id}", cache_policy=NO_CACHE, **_IO_RETRIES)
def publish(staging: Path, manifest: Manifest, output: Path) -> Path:
    return publishing.publish(staging, manifest, output)


# ---- the flows ------------------------------------------------------------------------


def _preload() -> None:
    """Each worker's start: what its tasks need, already there when forked (flows.forking)."""
    import flows.workers  # noqa: F401


class BuildTaskRunner(ProcessPoolTaskRunner):
    """A process pool with cheap, early workers, and threads for external programs.

    Prefect's pool spawns each worker afresh: more than a second of CPU for imports before
    its first task. This one forks them from a fork server that has made those imports
    (flows.forking), where the platform has one, and can start them at the beginning of
    the run, so what start-up remains overlaps validation instead of the fan-out.
    The *_in_flow tasks go to threads of the flow process instead: checks that wait on
    another program (they need no Python core of their own, and a worker process waiting on
    them would hold one), and every task of a build too small to be worth workers.
    """

    def __init__(self, max_workers: int | None = None) -> None:
        super().__init__(max_workers, initializer=_preload)
        self._threads = ThreadPoolTaskRunner()
        self._settings: _WorkerSettings | None = None

    def __enter__(self) -> Self:
        super().__enter__()
        self._executor = _forked(self._executor)
        self._threads.__enter__()
        current = SettingsContext.get()
        if current is not None:
            self._settings = _WorkerSettings(profile=current.profile, settings=current.settings).__enter__()
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._settings is not None:
            self._settings.__exit__()
            self._settings = None
        self._threads.__exit__(*exc_info)
        super().__exit__(*exc_info)

    def submit(  # type: ignore[override]
        self,
        task: Task[..., Any],
        parameters: dict[str, Any],
        wait_for: Iterable[PrefectFuture[Any]] | None = None,
        dependencies: dict[str, set[Any]] | None = None,
    ) -> PrefectFuture[Any]:
        runner = self._threads if id(task) in _IN_FLOW else super()
        return runner.submit(task, parameters, wait_for, dependencies)

    @property
    def worker_processes(self) -> int:
        return self._max_workers

    def start_workers(self) -> None:
        # ProcessPoolExecutor starts a worker for each call submitted while none is idle, up
        # to its maximum. Prefect 3.9 offers no public way to reach the executor or its size:
        # these are the same private attributes that __enter__ relies on (see _forked).
        for _ in range(self.worker_processes):
            self._executor.submit(_preload)  # type: ignore[union-attr]


class _WorkerSettings(SettingsContext):
    """The flow's settings, sent to the pool's workers as the objects they are.

    Prefect sends a worker the settings as a dict, for any machine to read, and the worker
    rebuilds them from it for every task: 20 ms of CPU a task, reading the environment and
    configuration files for each of Prefect's fifty-odd settings models. A worker forked
    here has the same Prefect, so the pickled objects serve, and unpickle in 0.2 ms.
    """

    def serialize(self, include_secrets: bool = True) -> dict[str, Any]:
        return {"profile": self.profile, "settings": self.settings}


def _forked(pool: ProcessPoolExecutor | None) -> ProcessPoolExecutor | None:
    """``pool`` with its workers forked from the fork server, where there is one.

    Prefect 3.9 hard-codes the spawn start method, so this rebuilds its executor, before any
    worker has started, from the executor's own (private, but long-stable) settings.
    """
    context = forking.context()
    if pool is None or context is None or pool._processes:
        return pool
    forked = ProcessPoolExecutor(
        pool._max_workers, mp_context=context, initializer=pool._initializer, initargs=pool._initargs
    )  # type: ignore[attr-defined]
    pool.shutdown(wait=False)
    return forked


def default_task_runner(dask_address: str = "") -> TaskRunner:
    """Processes on this machine, or the Dask cluster at ``dask_address``."""
    address = dask_address or get_settings().dask_address
    if address:
        from prefect_dask import DaskTaskRunner  # only needed, and imported, for a cluster

        return DaskTaskRunner(address=address)
    return BuildTaskRunner()


def dask_problem(address: str) -> str | None:
    """Why the Dask scheduler at ``address`` cannot take the fan-out, or None when it answers:
    asked before the run starts, so a typo or a stopped cluster is a clear message, not a
    failed run 30 seconds later."""
    from distributed.comm.addressing import get_address_host_port, parse_address

    scheme, _ = parse_address(address, strict=False)
    if scheme not in ("tcp", "tls"):
        return None  # another transport: the run will say
    try:
        host, port = get_address_host_port(address if "://" in address else f"tcp://{address}")
    except ValueError as exc:  # e.g. "missing port number in address ..."
        return str(exc)
    try:
        socket.create_connection((host, port), timeout=5).close()
    except OSError as exc:
        return f"no Dask scheduler answers at {host}:{port} ({exc.strerror or exc})"
    return None


@flow(name="build", task_runner=default_task_runner(), validate_parameters=True)
def build(
    publication: str,
    formats: list[str] | None = None,
    strict: bool = False,
    force: bool = False,
    output_dir: str | None = None,
) -> list[Outcome] | State:
    """Build one publication (an id under the source directory, or a path)."""
    return _build([publication], formats, strict, force, output_dir)


@flow(name="build-all", task_runner=default_task_runner(), validate_parameters=True)
def build_all(
    publications: list[str] | None = None,
    formats: list[str] | None = None,
    strict: bool = False,
    force: bool = False,
    output_dir: str | None = None,
) -> list[Outcome] | State:
    """Build many publications (default: every one under the source directory) together."""
    names = publications or [str(d) for d in publication_dirs(get_settings().source_dir)]
    return _build(names, formats, strict, force, output_dir)


def resolve(publication: str) -> Path:
    """A publication directory from an id under the source directory or a path."""
    return locate_publication(publication, get_settings().source_dir)


def _build(
    publications: list[str], formats: list[str] | None, strict: bool, force: bool, output_dir: str | None
) -> list[Outcome] | State:
    started = time.perf_counter()
    output = Path(output_dir) if output_dir else get_settings().output_dir
    chosen = list(formats or registry())
    unknown = [f for f in chosen if f not in registry()]
    if unknown:
        raise ValueError(f"unknown format {', '.join(unknown)}; known formats: {', '.join(registry())}")
    directories = [resolve(name) for name in publications]
    workers = estimates.wants_workers(directories)
    if estimates.expects_work(directories, output, force):
        _get_ready(chosen, workers)
    with ExitStack() as locks:  # every lock is held until its publication is published
        prepared = [_prepare(directory, chosen, strict, force, output, locks) for directory in directories]
        jobs = [p for p in prepared if isinstance(p, _Job)]
        fan_out = _fan_out(jobs, chosen, workers)
        ordered = [_finish(p, output, started, fan_out) if isinstance(p, _Job) else p for p in prepared]
    _report(ordered)
    if not all(o.ok for o in ordered):
        # A Failed state rather than a raise: the run fails with our reason, and no traceback
        # is logged for what is a finding about the input, not a bug. Callers still get the
        # BuildFailed from state.result(), and a parent flow calling build() has it raised.
        failure = BuildFailed(ordered)
        return Failed(message=str(failure), data=failure)
    return ordered


def _get_ready(formats: list[str], workers: bool) -> None:
    """Start, while validation runs, what the fan-out will wait for: worker processes if it
    will use them, and the format checks' programs when checks run in this process (e.g.
    epubcheck's JVM, or its daemon)."""
    runner = get_run_context().task_runner  # type: ignore[union-attr]
    if isinstance(runner, BuildTaskRunner) and workers:
        runner.start_workers()
    if isinstance(runner, (BuildTaskRunner, ThreadPoolTaskRunner)):
        for fmt in formats:
            if warm_up := registry()[fmt].warm_up:
                threading.Thread(target=warm_up, name=f"warm-up-{fmt}").start()


@dataclass(eq=False)  # one job is one build of a publication: equal only to itself
class _Job:
    publication: Publication
    staging: Path
    validate_seconds: float
    last_timings: dict[str, float]  # of the latest edition, if any
    futures: dict[str, dict[str, list[PrefectFuture]]] = field(default_factory=dict)  # format -> step -> futures

    def cost(self, fmt: str) -> float:
        """Expected seconds of a format's export and read-back: the last build's, else 0."""
        return self.last_timings.get(f"export.{fmt}", 0.0) + self.last_timings.get(f"verify.{fmt}", 0.0)

    def verification_parts(self, fmt: str, workers: int) -> list[range | None]:
        """The passages that each verification of ``fmt`` reads back: the whole file (None),
        or, for several ``workers``, equal ranges of them, as many as the last build's
        read-back of the file repays (estimates.verification_parts), if its exporter can
        read back a range."""
        if registry()[fmt].read_back_range is None:
            return [None]
        count = len(self.publication.passages)
        parts = min(estimates.verification_parts(self.last_timings.get(f"verify.{fmt}", 0.0), workers), max(count, 1))
        return [None] if parts == 1 else list(estimates.passage_ranges(count, parts))


def _prepare(
    directory: Path, formats: list[str], strict: bool, force: bool, output: Path, locks: ExitStack
) -> _Job | Outcome:
    """Validate, lock and check one publication: a job when it needs building, else its outcome."""
    start = time.perf_counter()
    publication, diagnostics = validate(directory, strict)
    pid = publication.id if publication else directory.name
    logger = get_run_logger()
    for d in diagnostics:  # findings about the input: warnings of the run, whatever their severity
        logger.warning("%s", d)
    if publication is None:
        errors = sum(d.is_error for d in diagnostics) or len(diagnostics)
        _progress(pid, "invalid")
        return Outcome(pid, "invalid", f"{errors} validation error{'s' * (errors != 1)}", tuple(diagnostics))
    try:
        locks.enter_context(publishing.lock(output, pid, _run_name()))
    except publishing.PublicationLocked as exc:
        _progress(pid, "locked")
        return Outcome(pid, "failed", str(exc), tuple(diagnostics))
    latest = None if force else check_up_to_date(quote(publication), formats, output)  # see Sealed
    if latest is not None:
        _progress(pid, "up to date")
        return Outcome(pid, "up to date", "", tuple(diagnostics), latest, publishing.latest_dir(output, pid))
    publishing.clear_staging(output, pid)
    last = read_manifest(publishing.latest_dir(output, pid))
    return _Job(
        publication, publishing.new_staging(output, pid), time.perf_counter() - start, last.timings if last else {}
    )


_STEP_WORDS = {"export": ("exported", "export"), "verify": ("read back", "read-back"), "check": ("checked", "check")}


def _fan_out(jobs: list[_Job], formats: list[str], workers: bool) -> float:
    """Submit every export of every job at once, then each verification behind its export.

    Exports go first so that none waits behind a verification (the process pool resolves
    a task's inputs in one of only as many threads as it has workers), the longest first
    (by the last build's timings) so that it never waits for a worker behind short ones.
    The longest export, its read-back and its check run at normal priority, every other task
    in the background (flows.priority), so that they do not stretch the path the build waits
    on (at its end, the check and the read-back's parts all are that path).
    A long read-back is split across the workers (_Job.verification_parts), its file's
    check then running in the flow process beside the parts.
    Without ``workers`` (a small build) every task runs in the flow process's threads.
    Returns the seconds from the first submission to the last verification.
    """
    start = time.perf_counter()
    exporting, verifying = (export, verify_file) if workers else (export_in_flow, verify_in_flow)
    processes = _worker_processes() if workers else 0
    watched: dict[PrefectFuture[object], tuple[str, str, str]] = {}  # future -> (publication, done, failed)
    for job in jobs:
        job.futures = {fmt: {step: [] for step in _STEP_WORDS} for fmt in formats}
    sealed = {job.publication.id: Sealed(job.publication) for job in jobs}
    if workers:
        # Pickled before the first submission, not by it: the pool's threads send tasks on
        # in parallel, and while the first pickled the model, later ones overtook it (a
        # 1,000-passage PDF export waited behind both short exports for a worker).
        for model in sealed.values():
            model.pickled()
    chains = sorted(((j, f) for j in jobs for f in formats), key=lambda pair: -pair[0].cost(pair[1]))
    behind = set(chains[1:]) if workers and _longest_chain(chains) else set()  # in the background
    for job, fmt in chains:
        job.futures[fmt]["export"].append(
            exporting.submit(sealed[job.publication.id], fmt, job.staging, (job, fmt) in behind)
        )
    for job in jobs:
        pid = job.publication.id
        for fmt, steps in job.futures.items():
            exported = steps["export"][0]
            background = (job, fmt) in behind
            parts = job.verification_parts(fmt, processes)
            for number, passages in enumerate(parts, 1):
                part = f"part-{number}-of-{len(parts)}"
                verifier = (
                    verifying
                    if passages is None
                    else verifying.with_options(task_run_name=f"verify-{fmt}-{pid}-{part}")
                )
                steps["verify"].append(verifier.submit(sealed[pid], exported, passages, background))
            if (exporter := registry()[fmt]).check is not None:
                in_flow = exporter.external_check or not workers or len(parts) > 1
                steps["check"].append((check_in_flow if in_flow else check_file).submit(exported, pid, background))
            for step, futures in steps.items():
                done, name = _STEP_WORDS[step]
                for number, future in enumerate(futures, 1):
                    part = f" (part {number} of {len(futures)})" if len(futures) > 1 else ""
                    watched[future] = (pid, f"{done} {fmt}{part}", f"{name} of {fmt}{part} failed")
    for future in as_completed(list(watched)):
        pid, done, failed = watched[future]
        _progress(pid, done if _succeeded(future) else failed)
    return time.perf_counter() - start


def _longest_chain(chains: list[tuple[_Job, str]]) -> tuple[_Job, str] | None:
    """The first of ``chains`` (sorted longest first), if the last build's timings say how
    long it is; else None: with nothing known, no task is put before another."""
    return chains[0] if chains and chains[0][0].cost(chains[0][1]) > 0 else None


def _worker_processes() -> int:
    """How many worker processes this run's task runner has (1 for a runner that does not say)."""
    runner = get_run_context().task_runner  # type: ignore[union-attr]
    return runner.worker_processes if isinstance(runner, BuildTaskRunner) else 1


def _finish(job: _Job, output: Path, started: float, fan_out: float) -> Outcome:
    """Publish a job whose files all verified; otherwise drop its staging directory."""
    pid = job.publication.id
    failures = [
        _failure(f)
        for steps in job.futures.values()
        for futures in steps.values()
        for f in futures
        if not _succeeded(f)
    ]
    if failures:
        publishing.clear_staging(output, pid)
        return Outcome(pid, "failed", next((r for r in failures if r), "a task failed"))
    exported = {fmt: steps["export"][0].result() for fmt, steps in job.futures.items()}
    timings = {"validate": job.validate_seconds, "fan_out": fan_out}
    for fmt, steps in job.futures.items():
        timings[f"export.{fmt}"] = exported[fmt].seconds
        timings |= {
            f"{step}.{fmt}": sum(f.result() for f in futures)
            for step, futures in steps.items()
            if step != "export" and futures
        }
    timings["total"] = time.perf_counter() - started
    manifest = _manifest(job.publication, exported, {k: round(s, 4) for k, s in timings.items()})
    directory = publish(job.staging, quote(manifest), output)
    _progress(pid, f"published {manifest.edition.isoformat()}")
    return Outcome(pid, "published", "", (), manifest, directory)


def _succeeded(future: PrefectFuture[object]) -> bool:
    try:
        future.wait()  # a future's state is final only once waited for
    except Exception:  # noqa: BLE001 - a process-pool future whose upstream failed raises here
        return False
    return future.state.is_completed()


def _failure(future: PrefectFuture[object]) -> str:
    """The reason a task failed, from its exception (upstream failures say nothing new)."""
    try:
        future.result()
    except Exception as exc:  # noqa: BLE001 - the reason is what we want
        return "" if "upstream" in str(exc).lower() else f"{type(exc).__name__}: {exc}"
    return ""


def _manifest(publication: Publication, exported: dict[str, Exported], timings: dict[str, float]) -> Manifest:
    return Manifest(
        publication_id=publication.id,
        title=publication.title,
        subtitle=publication.subtitle,
        description=publication.description,
        classification=publication.classification,
        language=publication.language,
        edition=publication.edition,
        content_hash=publication.content_hash,
        briefkit_version=briefkit_version(),
        exporter_versions={fmt: registry()[fmt].version for fmt in exported},
        files=tuple(e.file for e in exported.values()),
        passages=tuple(PassageSummary(p.id, p.title, p.summary) for p in publication.passages),
        timings=timings,
    )


def _run_name() -> str:
    try:
        run = get_run_context().flow_run  # type: ignore[union-attr]
        return f"flow run '{run.name}' ({run.id})"
    except Exception:  # noqa: BLE001 - outside a run the pid is name enough
        return "a briefkit build"


# ---- the run's artifact ---------------------------------------------------------------


def _report(outcomes: list[Outcome]) -> None:
    """One markdown artifact per run: every file with size and checksum, or why not."""
    create_markdown_artifact(
        key="briefkit-build",
        markdown="\n\n".join(_markdown(o) for o in outcomes),
        description="briefkit build: files and checksums",
    )


def _markdown(outcome: Outcome) -> str:
    lines = [f"## {outcome.publication_id}: {outcome.status}"]
    if outcome.reason:
        lines.append(f"\n{markdown_text(outcome.reason)}")
    if outcome.diagnostics:
        lines += ["", "| where | severity | code | problem | fix |", "|---|---|---|---|---|"]
        lines += [
            f"| {markdown_text(d.location())} | {d.severity.value} | {d.code} | {markdown_text(d.message)} | {markdown_text(d.hint)} |"
            for d in outcome.diagnostics
        ]
    if outcome.manifest is not None:
        lines += [
            f"\nedition {outcome.manifest.edition.isoformat()}, content hash `{outcome.manifest.content_hash[:16]}`",
            "",
        ]
        lines += ["| file | format | bytes | sha256 |", "|---|---|---:|---|"]
        lines += [
            f"| {markdown_text(f.name)} | {f.format} | {f.bytes:,} | `{f.sha256}` |" for f in outcome.manifest.files
        ]
    return "\n".join(lines)


def markdown_text(text: str) -> str:
    """``text`` as literal Markdown on one line, safe in a table cell of a run artifact."""
    return re.sub(r"([|\\`*_<>\[\]])", r"\\\1", text).replace("\n", " ")
