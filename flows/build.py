"""The build flows: validate, lock, skip what is up to date, export, verify, publish.

``build`` makes one publication, ``build_all`` several; every format that must be built is
one chain of two tasks (export, then verify: read the file back, then the format's own check),
all submitted at once to a stock Prefect task runner. An edition always holds every format its publication lists (``formats:``):
``formats`` limits what is rebuilt, and a format left out is carried over byte for byte from
the day's current edition when its inputs are unchanged, else rebuilt too. Formatting lives
in the exporters, publishing mechanics in ``briefkit.publishing``: this module only orchestrates.

Fault hooks, for testing failure handling with real components (comma-separated formats):
``BRIEFKIT_FAULT_EXPORT`` makes an export task raise after its file is written, as a crash
would; ``BRIEFKIT_FAULT_CORRUPT`` cuts the file to half its length, for verification to catch.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Generic, TypeVar

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.context import get_run_context
from prefect.futures import PrefectFuture, as_completed
from prefect.states import Cancelled, Failed, State
from prefect.tasks import exponential_backoff
from prefect.utilities.annotations import quote

from briefkit import publishing
from briefkit.atomic import UnsafePath
from briefkit.diagnostics import Diagnostic
from briefkit.loader import load_publication, locate_publication, publication_dirs
from briefkit.manifest import Manifest, ManifestFile, PassageSummary, briefkit_version, sha256_file
from briefkit.model import Publication
from briefkit.settings import get_settings
from exporters import registry
from exporters.verify import VerificationError, read_back_problems
from flows import artifacts, checks
from flows.outcomes import Outcome, stops_build
from flows.runners import task_runner
from flows.runs import name_run, publication_run_name, publications_run_name

T = TypeVar("T")
FAULT_ENV = "BRIEFKIT_FAULT_EXPORT"
CORRUPT_ENV = "BRIEFKIT_FAULT_CORRUPT"


class Invalid(Exception):
    """A publication that validation refused, with every diagnostic."""

    def __init__(self, publication_id: str, diagnostics: tuple[Diagnostic, ...]) -> None:
        self.publication_id, self.diagnostics = publication_id, diagnostics
        errors = sum(d.is_error for d in diagnostics) or len(diagnostics)
        super().__init__(f"{errors} validation error{'s' * (errors != 1)}")

    def __reduce__(self) -> tuple[type[Invalid], tuple[str, tuple[Diagnostic, ...]]]:
        return Invalid, (self.publication_id, self.diagnostics)


class InjectedFault(RuntimeError):
    """Raised by the documented fault hook, never in normal operation."""


class BuildFailed(RuntimeError):
    """At least one publication was invalid or failed; carries every outcome."""

    def __init__(self, outcomes: list[Outcome]) -> None:
        self.outcomes = outcomes
        super().__init__("; ".join(f"{o.publication_id}: {o.reason}" for o in outcomes if not o.ok))


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
    """A model handed to tasks as one opaque object: Prefect does not walk it looking for
    futures (slow for a large model), and Dask does not unpack it, as it does quote()'s tuple."""

    __slots__ = ("value",)

    def __init__(self, value: T) -> None:
        self.value = value


def retry_on_io_error(task: object, task_run: object, state: State) -> bool:
    """Retry only what the outside world may fix: I/O errors, not bad output."""
    try:
        state.result()
    except OSError:
        return True
    except Exception:  # noqa: BLE001 - any other failure is final
        return False
    return False


IO_RETRIES = {
    "retries": 2,
    "retry_delay_seconds": exponential_backoff(backoff_factor=1),
    "retry_condition_fn": retry_on_io_error,
}


@task(name="validate", task_run_name="validate-{directory.name}", cache_policy=NO_CACHE)
def validate(directory: Path, strict: bool) -> tuple[Publication, list[Diagnostic]] | State:
    """The publication and its warnings; Failed, with the diagnostics as an Invalid, on errors
    (or on warnings when ``strict`` or the publication's ``strict: true``): a finding about the
    input, so no traceback is logged."""
    publication, diagnostics = load_publication(directory, known_formats=registry.names())
    strict = strict or (publication is not None and publication.strict)
    logger = get_run_logger()
    for d in diagnostics:
        logger.log(logging.ERROR if d.is_error or strict else logging.WARNING, "%s", d)
    if stops_build(publication, diagnostics, strict):
        invalid = Invalid(directory.name, tuple(diagnostics))
        return Failed(message=f"{directory.name}: {invalid}", data=invalid)
    return publication, diagnostics


@task(name="check-up-to-date", task_run_name="check-up-to-date-{publication.id}", cache_policy=NO_CACHE)
def check_up_to_date(publication: Publication, formats: list[str], output: Path) -> publishing.Edition | None:
    return publishing.up_to_date(output, publication, registry.versions(formats), briefkit_version())


@task(name="carry-over", task_run_name="carry-over-{file.format}-{publication_id}", cache_policy=NO_CACHE, **IO_RETRIES)
def carry_over(publication_id: str, edition_id: str, file: ManifestFile, staging: Path, output: Path) -> Exported:
    """Copy a file whose inputs are unchanged from the day's current edition, checked by sha256."""
    start = time.perf_counter()
    path = publishing.carry_over(output, publication_id, edition_id, file, staging)
    return Exported(file, path, time.perf_counter() - start)


@task(name="export", task_run_name="export-{fmt}-{publication.value.id}", cache_policy=NO_CACHE)
def export(publication: Sealed[Publication], fmt: str, staging: Path) -> Exported:
    start = time.perf_counter()
    path = registry.get(fmt).export(publication.value, staging)
    if fmt in os.environ.get(FAULT_ENV, "").split(","):
        raise InjectedFault(f"fault injected into the {fmt} export by {FAULT_ENV}")
    if fmt in os.environ.get(CORRUPT_ENV, "").split(","):
        os.truncate(path, path.stat().st_size // 2)
    described = registry.describe(fmt)
    file = ManifestFile(path.name, fmt, path.stat().st_size, sha256_file(path), described.label, described.media_type)
    return Exported(file, path, time.perf_counter() - start)


@task(
    name="verify",
    task_run_name="verify-{exported.file.format}-{publication.value.id}",
    cache_policy=NO_CACHE,
    **IO_RETRIES,
)
def verify(publication: Sealed[Publication], exported: Exported) -> dict[str, float]:
    """Read the file back and compare it with the canonical text, then run the format's own
    validator (e.g. epubcheck, in the warm worker when one serves): seconds of each, by step."""
    start = time.perf_counter()
    fmt = exported.file.format
    if problems := read_back_problems(publication.value, registry.get(fmt), exported.path):
        raise VerificationError(exported.path, tuple(problems))
    read = time.perf_counter()
    if problems := checks.problems(fmt, exported.path, publication.value.id):
        raise VerificationError(exported.path, tuple(problems))
    return {"verify": read - start, "check": time.perf_counter() - read}


@task(name="publish", task_run_name="publish-{manifest.publication_id}", cache_policy=NO_CACHE, **IO_RETRIES)
def publish(staging: Path, manifest: Manifest, output: Path) -> tuple[publishing.Edition, bool]:
    return publishing.publish(staging, manifest, output)


# ---- the flows ------------------------------------------------------------------------


@flow(name="build", flow_run_name=publication_run_name, task_runner=task_runner(), validate_parameters=True)
def build(
    publication: str,
    formats: list[str] | None = None,
    strict: bool = False,
    force: bool = False,
    output_dir: str | None = None,
    lock_wait: float = 0,
) -> list[Outcome] | State:
    """Build one publication (an id under the source directory, or a path); ``lock_wait``: seconds
    to wait for a run that is building it, before this one ends Cancelled."""
    return _build([publication], formats, strict, force, output_dir, lock_wait)


@flow(name="build-all", flow_run_name=publications_run_name, task_runner=task_runner(), validate_parameters=True)
def build_all(
    publications: list[str] | None = None,
    formats: list[str] | None = None,
    strict: bool = False,
    force: bool = False,
    output_dir: str | None = None,
    lock_wait: float = 0,
) -> list[Outcome] | State:
    """Build many publications (default: every one under the source directory) together."""
    names = publications or [str(d) for d in publication_dirs(get_settings().source_dir)]
    return _build(names, formats, strict, force, output_dir, lock_wait)


def resolve(publication: str) -> Path:
    """A publication directory from an id under the source directory or a path."""
    return locate_publication(publication, get_settings().source_dir)


@dataclass(eq=False)
class _Job:
    """One publication being built: what to export, what to carry over, and its chains of task
    futures, format -> step -> future."""

    publication: Publication
    staging: Path
    validate_seconds: float
    export: list[str] = field(default_factory=list)  # formats to build
    carry: dict[str, ManifestFile] = field(default_factory=dict)  # formats copied from the day's current edition
    base: str = ""  # that edition's id, "" for none
    notes: list[str] = field(default_factory=list)  # what was rebuilt or carried over beyond what was asked, and why
    futures: dict[str, dict[str, PrefectFuture]] = field(default_factory=dict)


def _build(
    publications: list[str],
    formats: list[str] | None,
    strict: bool,
    force: bool,
    output_dir: str | None,
    lock_wait: float = 0,
) -> list[Outcome] | State:
    started = time.perf_counter()
    output = Path(output_dir) if output_dir else get_settings().output_dir
    if unknown := [f for f in formats or [] if f not in registry.names()]:
        raise ValueError(f"unknown format {', '.join(unknown)}; known formats: {', '.join(registry.names())}")
    with ExitStack() as locks:  # every lock is held until its publication is published
        prepared = [_prepare(resolve(name), formats, strict, force, output, locks, lock_wait) for name in publications]
        jobs = [p for p in prepared if isinstance(p, _Job)]
        for job in jobs:  # every export first, so that none waits for a worker behind a read-back
            job.futures = {
                fmt: {"export": export.submit(Sealed(job.publication), fmt, job.staging)} for fmt in job.export
            }
        for job in jobs:
            for chain in job.futures.values():  # read back and checked as soon as the file exists
                chain["verify"] = verify.submit(Sealed(job.publication), chain["export"])
            job.futures |= {fmt: {"carry": _submit_carry(job, f, output)} for fmt, f in job.carry.items()}
        _watch(jobs)
        outcomes = [_finish(p, output, started) if isinstance(p, _Job) else p for p in prepared]
    name_run(outcomes)
    artifacts.report(outcomes)
    if not all(o.ok for o in outcomes):
        # A Failed state rather than a raise: the run fails with our reason and no traceback
        # is logged for a finding about the input. state.result() still raises BuildFailed.
        failure = BuildFailed(outcomes)
        if all(o.status == "locked" for o in outcomes if not o.ok):  # another run is building them: nothing failed
            return Cancelled(message=str(failure), data=failure)
        return Failed(message=str(failure), data=failure)
    return outcomes


def _prepare(
    directory: Path,
    formats: list[str] | None,
    strict: bool,
    force: bool,
    output: Path,
    locks: ExitStack,
    lock_wait: float = 0,
) -> _Job | Outcome:
    """Validate, lock and check one publication: a job when it needs building, else its outcome."""
    start = time.perf_counter()
    validated = validate(directory, strict, return_state=True).result(raise_on_failure=False)
    if isinstance(validated, Invalid):
        _progress(validated.publication_id, "invalid")
        return Outcome(validated.publication_id, "invalid", str(validated), validated.diagnostics)
    publication, diagnostics = validated
    pid, edition = publication.id, publication.edition.isoformat()
    listed = registry.listed(publication)
    if unlisted := [f for f in formats or [] if f not in listed]:
        _progress(pid, "refused")
        reason = (
            f"{', '.join(unlisted)} is not among the formats the publication lists ({', '.join(listed)}); "
            "add it to formats: in publication.yaml to build it"
        )
        return Outcome(pid, "failed", reason, tuple(diagnostics), edition=edition)

    def waiting(holder: str) -> None:
        _progress(pid, f"locked by {holder}: waiting up to {lock_wait:g} s")

    try:
        locks.enter_context(publishing.lock(output, pid, _run_name(), wait=lock_wait, waiting=waiting))
    except publishing.PublicationLocked as exc:
        _progress(pid, "locked")
        return Outcome(pid, "locked", str(exc), tuple(diagnostics), edition=edition)
    except (publishing.ReservedPublicationId, UnsafePath) as exc:  # refused before anything is written
        _progress(pid, "refused")
        return Outcome(pid, "failed", str(exc), tuple(diagnostics), edition=edition)
    publishing.clear_staging(output, pid)  # first: a latest left behind by a crash is repaired even when up to date
    current = None if force else check_up_to_date(quote(publication), listed, output)  # quote: see Sealed
    if current is not None:
        _progress(pid, "up to date")
        return Outcome(pid, "up to date", "", tuple(diagnostics), current.manifest, current.directory)
    job = _Job(publication, publishing.new_staging(output, pid), time.perf_counter() - start)
    _plan(job, formats or listed, listed, output)
    return job


def _plan(job: _Job, requested: list[str], listed: list[str], output: Path) -> None:
    """Which listed formats to export and which to carry over from the day's current edition, and why."""
    publication = job.publication
    base = publishing.current_edition(output, publication.id, publication.edition)
    reuse = publishing.reusable(output, publication, registry.versions(listed), briefkit_version())
    job.carry = {f: reuse[f] for f in listed if f not in requested and f in reuse}
    job.export = [f for f in listed if f not in job.carry]
    job.base = base.manifest.edition_id if base else ""
    if also := [f for f in job.export if f not in requested]:
        if base is None:
            why = f"there is no edition of {publication.edition.isoformat()} to carry them over from"
        elif base.manifest.content_hash != publication.content_hash:
            why = f"the content changed since edition {job.base}"
        else:
            why = f"edition {job.base} was made by another exporter or briefkit version, or its file changed"
        job.notes.append(f"rebuilt {', '.join(also)} too: {why}")
    if job.carry:
        job.notes.append(f"carried over {', '.join(job.carry)} from edition {job.base}, byte for byte")
    for note in job.notes:
        _progress(publication.id, note)


def _submit_carry(job: _Job, file: ManifestFile, output: Path) -> PrefectFuture:
    return carry_over.submit(job.publication.id, job.base, file, job.staging, output)


def _watch(jobs: list[_Job]) -> None:
    """Report each step as it ends, until every one has."""
    steps = {
        f: (job.publication.id, fmt, step)
        for job in jobs
        for fmt, chain in job.futures.items()
        for step, f in chain.items()
    }
    for future in as_completed(list(steps)):
        pid, fmt, step = steps[future]
        done = {"export": "exported", "verify": "read back and checked", "carry": "carried over"}[step]
        _progress(pid, f"{done} {fmt}" if _succeeded(future) else f"{step} of {fmt} failed")


def _succeeded(future: PrefectFuture) -> bool:
    try:
        future.wait()  # a future's state is final only once waited for
    except Exception:  # noqa: BLE001 - in a process pool, a task whose upstream failed raises here
        return False
    return future.state.is_completed()


def _finish(job: _Job, output: Path, started: float) -> Outcome:
    """Publish a job whose files all verified; otherwise drop its staging directory."""
    pid = job.publication.id
    futures = [f for chain in job.futures.values() for f in chain.values()]
    if not all(_succeeded(f) for f in futures):
        publishing.clear_staging(output, pid)
        # the first failure's own message: a task skipped for its upstream's failure says nothing new
        failed = [f.state for f in futures if f.state.is_failed() and "Upstream task" not in (f.state.message or "")]
        reason = next((s.message for s in failed if s.message), "a task failed")
        return Outcome(pid, "failed", reason, edition=job.publication.edition.isoformat())
    timings = {"validate": job.validate_seconds}
    exported: dict[str, Exported] = {}
    for fmt in registry.names():  # every edition lists its files in one order
        if (chain := job.futures.get(fmt)) is None:
            continue
        first, made = next(iter(chain.items()))  # export or carry
        exported[fmt] = made.result()
        timings |= {f"{first}.{fmt}": exported[fmt].seconds}
        if "verify" in chain:
            timings |= {f"{step}.{fmt}": seconds for step, seconds in chain["verify"].result().items()}
    timings["total"] = time.perf_counter() - started
    manifest = _manifest(job.publication, exported, {k: round(s, 4) for k, s in timings.items()})
    edition, new = publish(job.staging, quote(manifest), output)
    m = edition.manifest
    if not new:
        _progress(pid, f"up to date: the files are identical to edition {m.edition_id}")
        return Outcome(pid, "up to date", "", (), m, edition.directory, tuple(job.notes))
    said = f", correction of {m.corrects}" if m.corrects else ""
    _progress(
        pid, f"built draft {m.edition_id}{said}: not for readers" if m.is_draft else f"published {m.edition_id}{said}"
    )
    return Outcome(pid, "draft" if m.is_draft else "published", "", (), m, edition.directory, tuple(job.notes))


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
        exporter_versions=registry.versions(list(exported)),
        files=tuple(e.file for e in exported.values()),
        passages=tuple(PassageSummary(p.id, p.title, p.summary) for p in publication.passages),
        timings=timings,
        status=publication.status,
        tags=publication.tags,
    )


def _run_name() -> str:
    try:
        run = get_run_context().flow_run  # type: ignore[union-attr]
        return f"flow run '{run.name}' ({run.id})"
    except Exception:  # noqa: BLE001 - outside a run the pid is name enough
        return "a briefkit build"
