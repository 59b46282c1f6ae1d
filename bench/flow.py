"""What Prefect costs and what the parallel fan-out gains, against a running Prefect server.

    .venv/bin/python bench/flow.py [--passages 1000] [--repeat 3]

Starts `prefect server start` on a free 127.0.0.1 port (stopped at the end), then for the
seed and a generated large publication (bench/corpus.py) measures, as medians of --repeat runs:
  - exporters alone: every format exported and verified one after another, plain Python,
    in a fresh process (format checks warmed up first, untimed, as the flow warms them while
    it validates);
  - the best case of any orchestrator: the same work on two processes that already hold
    the model, no Prefect, scheduled as the flow schedules it (the longest format's export
    then the first half of its read-back in one; the other formats, in the background, then
    the other half in the other; its check, in the background, in this process), so
    serial / best case bounds the fan-out speed-up this machine and these exporters allow;
    and the same schedule as just two Prefect tasks in a flow run of its own, the least
    Prefect can add to it (the build has ten tasks);
  - `briefkit build --force` wall time (process pool fan-out), and the same flow with the
    formats run one after another (a one-thread task runner), so speed-up = serial / parallel,
    of whole runs and of their fan-out phases (the same tasks and Prefect, in series);
  - the fan-out phase of the parallel run (first submission to last verification, from the
    manifest's timings), against the exporters one after another; and its two parts, from
    the task runs the server recorded: waiting for a worker process (validation finished,
    no export started yet) and running (first export start to last check end);
  - Prefect's overhead = parallel wall time - running - validation;
  - an up-to-date `briefkit build` (nothing to do), wall time of the command.

With --dask tcp://127.0.0.1:8786 the parallel runs use that (already running, warm) Dask
cluster instead of a fresh process pool; its workers need PREFECT_API_URL of the same
server (--server) and this checkout on their path, e.g. from the repository root:
    .venv/bin/prefect server start --port 4200 &
    .venv/bin/dask scheduler --port 8786 &
    PREFECT_API_URL=http://127.0.0.1:4200/api .venv/bin/dask worker tcp://127.0.0.1:8786 --nworkers 2 --nthreads 1 &
    .venv/bin/python bench/flow.py --server http://127.0.0.1:4200/api --dask tcp://127.0.0.1:8786
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import pickle
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]
BIN = Path(sys.executable).parent

from corpus import make_publication  # noqa: E402


def start_server(home: Path) -> tuple[subprocess.Popen[bytes], str]:
    import socket
    import urllib.request

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = os.environ | {
        "PREFECT_HOME": str(home),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_UI_ENABLED": "false",
    }
    env.pop("PREFECT_API_URL", None)
    proc = subprocess.Popen(
        [str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}/api"
    for _ in range(240):
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2):
                return proc, url
        except OSError:
            time.sleep(0.5)
    raise RuntimeError("the Prefect server did not start")


def exporters_alone(directory: Path, out: Path) -> dict[str, float]:
    """Seconds of export + verify per format, one after another in the calling process
    (a fresh one: see measure)."""
    from briefkit.loader import load_publication
    from exporters.registry import registry

    publication, diags = load_publication(directory)
    assert publication is not None, diags
    for exporter in registry().values():  # as the flow does while it validates, untimed
        if exporter.warm_up is not None:
            exporter.warm_up()
    seconds = {}
    for name in registry():
        start = time.perf_counter()
        _export_and_verify(publication, name, out)
        seconds[name] = time.perf_counter() - start
    return seconds


def _halves(model: Any, fmt: str) -> list[range] | list[None]:
    """The read-back of ``fmt`` in two halves, as the flow splits it on two workers, if its
    exporter reads back ranges; else the whole file, then nothing."""
    from briefkit.estimates import passage_ranges
    from exporters.registry import registry

    return passage_ranges(len(model.value.passages), 2) if registry()[fmt].read_back_range else [None]


def _export_then_first_half(model: Any, fmt: str, out: Path, exported: Any) -> None:
    """Export ``fmt`` from the sealed ``model``, then read back its first half."""
    from exporters.registry import registry
    from exporters.verify import read_back_problems

    exporter = registry()[fmt]
    path = exporter.export(model.value, out)
    exported.set()
    assert not read_back_problems(model.value, exporter, path, _halves(model, fmt)[0])


def _the_rest(model: Any, formats: list[str], longest: str, out: Path, exported: Any) -> None:
    """Export and verify ``formats`` in the background, then read back the other half of
    ``longest`` once it is exported."""
    from exporters.registry import registry
    from exporters.verify import read_back_problems
    from flows import priority

    for fmt in formats:
        priority.call(True, _export_and_verify, model.value, fmt, out)
    exported.wait()
    if len(halves := _halves(model, longest)) > 1:
        assert not read_back_problems(
            model.value, registry()[longest], out / registry()[longest].filename(model.value), halves[1]
        )


def _export_and_verify(publication: Any, fmt: str, out: Path) -> None:
    from exporters.registry import registry
    from exporters.verify import verify

    verify(publication, registry()[fmt], registry()[fmt].export(publication, out))


def _check_longest(model: Any, longest: str, out: Path, exported: Any) -> None:
    """The check of ``longest`` once it is exported, in the background, as the flow runs it."""
    from exporters.registry import registry
    from flows import priority

    exporter = registry()[longest]
    exported.wait()
    if exporter.check is not None:
        assert not priority.call(True, exporter.check, out / exporter.filename(model.value))


def best_cases(directory: Path, work: Path, longest: str, repeat: int) -> tuple[float, float]:
    """Median seconds of the fan-out's work on two warm processes that hold the model, run
    as the flow schedules it: plain, with no orchestrator; and as the fewest Prefect tasks
    that can run it, two (one chain each), in the build's own task runner."""
    from prefect import flow, task
    from prefect.cache_policies import NO_CACHE
    from prefect.context import get_run_context
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

    from briefkit.loader import load_publication
    from exporters.registry import registry
    from flows import forking
    from flows.build import BuildTaskRunner, Sealed

    publication, _ = load_publication(directory)
    model = Sealed(publication)
    rest = [fmt for fmt in registry() if fmt != longest]
    as_tasks = [task(cache_policy=NO_CACHE)(fn) for fn in (_export_then_first_half, _the_rest)]

    def plain(pool: ProcessPoolExecutor, exported: Any, out: Path) -> float:
        start = time.perf_counter()
        ends = [
            pool.submit(_export_then_first_half, model, longest, out, exported),
            pool.submit(_the_rest, model, rest, longest, out, exported),
        ]
        _check_longest(model, longest, out, exported)
        for end in ends:
            end.result()
        return time.perf_counter() - start

    @flow(task_runner=BuildTaskRunner(2))
    def two_tasks(exported: Any, out: Path) -> float:
        """Timed as the build's fan-out phase: first submission to last result, workers started."""
        get_run_context().task_runner.start_workers()  # type: ignore[union-attr]
        time.sleep(2)
        start = time.perf_counter()
        ends = [
            as_tasks[0].submit(model, longest, out, exported),
            as_tasks[1].submit(model, rest, longest, out, exported),
        ]
        _check_longest(model, longest, out, exported)
        for end in ends:
            end.result()
        return time.perf_counter() - start

    # the build's fork server (flows.forking): safe whatever threads this process has
    with multiprocessing.Manager() as manager, ProcessPoolExecutor(2, forking.context()) as pool:
        list(pool.map(_receive, [pickle.dumps(model)] * 2))  # both workers started, holding the model
        bare = [plain(pool, manager.Event(), Path(tempfile.mkdtemp(dir=work))) for _ in range(repeat)]
        with temporary_settings({PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):  # as `briefkit build`
            prefect = [two_tasks(manager.Event(), Path(tempfile.mkdtemp(dir=work))) for _ in range(repeat)]
    return statistics.median(bare), statistics.median(prefect)


def _receive(pickled: bytes) -> None:
    """Take the model, and hold this worker a moment so that the other takes the other copy."""
    pickle.loads(pickled)
    time.sleep(0.5)


def timed_command(args: list[str], env: dict[str, str], cwd: Path) -> float:
    start = time.perf_counter()
    result = subprocess.run([str(BIN / "briefkit"), *args], env=env, cwd=cwd, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        raise RuntimeError(result.stdout + result.stderr)
    return elapsed


# As `briefkit build` runs the flow (flows.console.run_build: no heartbeat thread to join),
# with one thread for every task instead of the process pool.
SERIAL = """
import sys
from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings
from prefect.task_runners import ThreadPoolTaskRunner
from flows.build import build
with temporary_settings({PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
    state = build.with_options(task_runner=ThreadPoolTaskRunner(max_workers=1))(sys.argv[1], output_dir=sys.argv[2], force=True, return_state=True)
sys.exit(0 if state.is_completed() else 1)
"""


def last_run_spans() -> dict[str, tuple[float, float]]:
    """Start and end (epoch seconds) of each task run of the newest flow run on the server."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId
    from prefect.client.schemas.sorting import FlowRunSort

    with get_client(sync_client=True) as client:
        run = client.read_flow_runs(sort=FlowRunSort.START_TIME_DESC, limit=1)[0]
        tasks = client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[run.id])))
    return {t.name: (t.start_time.timestamp(), t.end_time.timestamp()) for t in tasks if t.start_time and t.end_time}


def parallel_run(directory: Path, out: Path, env: dict[str, str], work: Path, runner: list[str]) -> dict[str, float]:
    """One `briefkit build --force`: its wall time, and how its fan-out phase was spent."""
    from briefkit.manifest import latest_dir, read_manifest

    wall = timed_command(["build", str(directory), "--out", str(out), "--force", *runner], env, work)
    timings = read_manifest(latest_dir(out, directory.name)).timings  # type: ignore[union-attr]
    spans = last_run_spans()
    fanned = [span for name, span in spans.items() if name.split("-")[0] in ("export", "verify", "check")]
    validated = max(end for name, (_, end) in spans.items() if name.startswith("validate-"))
    first_export = min(start for name, (start, _) in spans.items() if name.startswith("export-"))
    return {
        "wall": wall,
        "fan_out": timings["fan_out"],
        "validate": timings["validate"],
        "waiting": first_export - validated,
        "running": max(end for _, end in fanned) - first_export,
    }


def measure(directory: Path, work: Path, env: dict[str, str], repeat: int, dask: str) -> dict[str, float]:
    from briefkit.manifest import latest_dir, read_manifest

    out = work / "output"
    # In a fresh process that has imported only the exporters: in this one, by now holding
    # Prefect and a flow run's objects, the collector walks a larger heap, which slowed the
    # exporters by 5-8% and so flattered the fan-out.
    with ProcessPoolExecutor(1, multiprocessing.get_context("spawn")) as fresh:
        alone = [
            fresh.submit(exporters_alone, directory, Path(tempfile.mkdtemp(dir=work))).result() for _ in range(repeat)
        ]
    serial_alone = statistics.median(sum(run.values()) for run in alone)
    longest = max(alone[0], key=lambda name: statistics.median(run[name] for run in alone))
    ideal, least_prefect = best_cases(directory, work, longest, repeat)
    runner = ["--dask", dask] if dask else []
    runs = [parallel_run(directory, out, env, work, runner) for _ in range(repeat)]
    parallel = {key: statistics.median(run[key] for run in runs) for key in runs[0]}
    serial_flows, serial_fan_outs = [], []
    for _ in range(repeat):
        serial_start = time.perf_counter()
        subprocess.run(
            [sys.executable, "-c", SERIAL, str(directory), str(work / "serial")],
            env=env,
            cwd=ROOT,
            check=True,
            capture_output=True,
        )
        serial_flows.append(time.perf_counter() - serial_start)
        serial_fan_outs.append(read_manifest(latest_dir(work / "serial", directory.name)).timings["fan_out"])  # type: ignore[union-attr]
    serial, serial_fan_out = statistics.median(serial_flows), statistics.median(serial_fan_outs)
    up_to_date = statistics.median(
        timed_command(["build", str(directory), "--out", str(out)], env, work) for _ in range(max(repeat, 3))
    )
    return {
        "exporters one after another (plain Python), s": serial_alone,
        **{f"  {name} export+verify, s": statistics.median(run[name] for run in alone) for name in alone[0]},
        f"best case, no orchestrator: two warm processes, {longest} alone in one, s": ideal,
        "  its speed-up (one after another / best case): this machine's bound": serial_alone / ideal,
        "the same as two Prefect tasks (submit to last result), s": least_prefect,
        "  its speed-up: the bound for any fan-out in Prefect tasks": serial_alone / least_prefect,
        "briefkit build --force, parallel fan-out, s": parallel["wall"],
        "same flow, formats one after another, s": serial,
        "fan-out speed-up, whole runs (serial flow / parallel flow)": serial / parallel["wall"],
        "fan-out phase of the parallel run (submit to last verify), s": parallel["fan_out"],
        "  of which waiting for a worker (validated to first export), s": parallel["waiting"],
        "  of which running (first export to last check), s": parallel["running"],
        "fan-out phase of the same flow, formats one after another, s": serial_fan_out,
        "fan-out speed-up, same flow (one after another / parallel), phases": serial_fan_out / parallel["fan_out"],
        "fan-out speed-up (exporters one after another / fan-out phase)": serial_alone / parallel["fan_out"],
        "same, once workers run (one after another / running)": serial_alone / parallel["running"],
        "Prefect and process overhead (parallel - running - validate), s": parallel["wall"]
        - parallel["running"]
        - parallel["validate"],
        "up-to-date briefkit build, s": up_to_date,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--passages", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--dask", default="", help="fan out on this running Dask scheduler instead of a process pool")
    parser.add_argument("--server", default="", help="API URL of a running Prefect server (default: start one)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="briefkit-bench-flow-"))
    proc, url = (None, args.server) if args.server else start_server(work / "prefect-home")
    env = os.environ | {
        "PREFECT_API_URL": url,
        "PREFECT_HOME": str(work / "prefect-home"),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL": "ERROR",
    }
    os.environ.update(env)  # before Prefect is imported here: last_run_spans asks that server
    try:
        seed = shutil.copytree(ROOT / "source" / "support-for-ukraine", work / "source" / "support-for-ukraine")
        large = make_publication(work / "source" / f"bench-{args.passages}", passages=args.passages)
        for directory in (seed, large):
            print(f"\n{directory.name} ({os.cpu_count()} cores, Prefect server at {url})")
            for label, value in measure(directory, work, env, args.repeat, args.dask).items():
                print(f"  {label:<66} {value:8.2f}")
    finally:
        if proc is not None:
            os.killpg(proc.pid, 2)
            proc.wait(timeout=30)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
