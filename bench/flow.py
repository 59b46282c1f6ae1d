"""`briefkit build` end to end, as a user runs it, for two checkouts side by side in one run.

    .venv/bin/python bench/flow.py [--old-ref 42949b2] [--new-ref REF | --new-path DIR]
                                              [--passages 1000] [--repeat 5]

The OLD checkout (default: commit 42949b2, before this week's simplification) is made with
`git worktree add --detach` under a temporary directory; the NEW one is the checkout this
script lives in, or --new-path, or a worktree of --new-ref (e.g. --new-ref 42949b2 to test
the machinery with OLD against OLD). OLD builds against a Prefect server that this script
starts (`prefect server start` on a free 127.0.0.1 port, PREFECT_HOME in the temporary
directory) and stops at the end; a checkout with flows/checks.py builds as a user's commands
do, against the local server and warm worker of its own `briefkit server start` (PREFECT_HOME
of its own), started before any build (once the worker takes builds) and stopped at the end.

Every build is a fresh process running the checkout's CLI (flows.cli, else briefkit.cli),
with the checkout first on sys.path and as its working directory, into an --out directory of
its own per checkout and publication. Publications: the seed (source/support-for-ukraine of
this script's checkout, copied) and a generated one of --passages passages (bench/corpus.py); both
are shared, read only, by every build. Each row is timed --repeat times:
  - forced: `briefkit build DIR --out OUT --force`;
  - up to date: the same without --force, right after, with nothing changed.
Runs alternate old, new, old, new, ... so that load from others on the machine falls on
both alike. One forced build per checkout and publication runs first, untimed: it writes the
checkout's bytecode and starts what a user's earlier builds would have started (the old
code's epubcheck daemon). A build that exits non-zero is reported with its stderr's tail and
is not timed. The table gives medians with min-max and new/old, beside the targets: forced
builds new/old <= 1.3; an up-to-date build of the generated publication, new < 2 s.

Nothing outlives the script, also on Ctrl-C: the server and every build start in process
groups of their own, which are killed; the old code's check daemons (their own sessions, by
design) are asked to stop, and any process still carrying this run's marker in its
environment (BRIEFKIT_BENCH_RUN) is killed by its id.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "bench")]
BIN = Path(sys.executable).parent
MARKER = "BRIEFKIT_BENCH_RUN"
ROWS = {"forced": ["--force"], "up to date": []}  # row -> build options

from corpus import make_publication  # noqa: E402

BUILD = "import sys; sys.path.insert(0, {checkout!r}); from {module} import main; sys.argv = ['briefkit', *{args!r}]; main()"


@dataclass
class Checkout:
    role: str  # "old" or "new"
    label: str  # column heading, e.g. "old 42949b2"
    path: Path
    module: str  # its CLI module: flows.cli or briefkit.cli
    env: dict[str, str] = field(default_factory=dict)  # over the bench's; "" unsets a variable


@dataclass
class Run:
    """One build: its wall time, or why it failed; and the last line it printed."""

    seconds: float | None
    error: str = ""  # exit status or timeout, and the tail of stderr
    said: str = ""


@dataclass
class Cell:
    """The runs of one checkout in one row of the table."""

    seconds: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)  # stderr tails
    said: str = ""  # the last line of output of its first successful build

    def add(self, run: Run) -> None:
        if run.seconds is None:
            self.failures.append(run.error)
        else:
            self.seconds.append(run.seconds)
            self.said = self.said or run.said

    def summary(self) -> str:
        if not self.seconds:
            return "FAILED" if self.failures else "-"
        text = f"{statistics.median(self.seconds):6.2f} ({min(self.seconds):.2f}-{max(self.seconds):.2f})"
        return text + (f" {len(self.failures)} failed" if self.failures else "")


@dataclass
class Bench:
    work: Path
    env: dict[str, str]  # for every build
    groups: list[int] = field(default_factory=list)  # process groups started, killed at the end
    worktrees: list[Path] = field(default_factory=list)


def git(*args: str) -> str:
    return subprocess.run(["git", "-C", str(ROOT), *args], check=True, capture_output=True, text=True).stdout.strip()


def add_worktree(bench: Bench, ref: str, name: str) -> Path:
    path = bench.work / "checkouts" / name
    git("worktree", "add", "--detach", str(path), ref)
    bench.worktrees.append(path)
    return path


def cli_module(checkout: Path) -> str:
    for module in ("flows.cli", "briefkit.cli"):
        if (checkout / (module.replace(".", "/") + ".py")).is_file():
            return module
    raise SystemExit(f"{checkout}: neither flows/cli.py nor briefkit/cli.py")


def check_imports(checkout: Path) -> None:
    """Fail early unless a build there imports that checkout's code (the shared virtualenv has
    briefkit installed, editable, from another one)."""
    probe = f"import sys; sys.path.insert(0, {str(checkout)!r}); import briefkit, exporters; print(exporters.__file__)"
    done = subprocess.run([sys.executable, "-c", probe], cwd=checkout, capture_output=True, text=True, check=True)
    if not Path(done.stdout.strip()).resolve().is_relative_to(checkout.resolve()):
        raise SystemExit(f"{checkout}: a build there would import {done.stdout.strip()}")


def checkout_label(path: Path) -> str:
    done = subprocess.run(["git", "-C", str(path), "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    dirty = subprocess.run(["git", "-C", str(path), "status", "--porcelain"], capture_output=True, text=True).stdout
    return done.stdout.strip() + ("+changes" if dirty.strip() else "")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(bench: Bench) -> str:
    """Start a Prefect server in a process group of its own; its API URL once it answers."""
    port = free_port()
    log = open(bench.work / "prefect-server.log", "wb")  # noqa: SIM115 - open until the server stops
    proc = subprocess.Popen(
        [str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        env=bench.env | {"PREFECT_UI_ENABLED": "false"},
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    bench.groups.append(proc.pid)
    url = f"http://127.0.0.1:{port}/api"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            break
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2):
                return url
        except OSError:
            time.sleep(0.5)
    tail = (bench.work / "prefect-server.log").read_text(errors="replace")[-2000:]
    raise RuntimeError(f"the Prefect server did not answer at {url}/health:\n{tail}")


def run_build(bench: Bench, checkout: Checkout, args: list[str], timeout: float) -> Run:
    """One build in a fresh process, in a process group of its own."""
    command = [sys.executable, "-c", BUILD.format(checkout=str(checkout.path), module=checkout.module, args=args)]
    start = time.perf_counter()
    proc = subprocess.Popen(
        command,
        cwd=checkout.path,
        env={k: v for k, v in (bench.env | checkout.env | {"PYTHONPATH": str(checkout.path)}).items() if v},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    bench.groups.append(proc.pid)
    try:
        out, err = proc.communicate(timeout=timeout)
        seconds = time.perf_counter() - start
    except subprocess.TimeoutExpired:
        kill_group(proc.pid)
        out, err = proc.communicate()
        return Run(None, f"timed out after {timeout:.0f} s\n" + err.decode(errors="replace")[-1500:])
    finally:
        kill_group(proc.pid)  # anything the build left in its group (fork servers, workers)
    if proc.returncode != 0:
        text = (err or out).decode(errors="replace").strip().splitlines()
        return Run(None, f"exit {proc.returncode}:\n" + "\n".join(text[-25:]))
    lines = [line.strip() for line in out.decode(errors="replace").splitlines() if line.strip()]
    return Run(seconds, said=lines[-1] if lines else "")


def kill_group(pgid: int, sig: int = signal.SIGKILL) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def marked_pids(token: str) -> list[int]:
    """Processes whose environment carries this run's marker: started by this bench."""
    pids = []
    needle = f"{MARKER}={token}".encode()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            try:
                if needle in (entry / "environ").read_bytes().split(b"\0"):
                    pids.append(int(entry.name))
            except OSError:
                continue
    return pids


def clean_up(bench: Bench, checkouts: list[Checkout]) -> None:
    """Stop the old code's check daemons, the server, every build's group, marked leftovers;
    remove the worktrees this script made. A second Ctrl-C does not interrupt it."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    print("stopping the server, daemons and builds; removing the worktrees", file=sys.stderr)
    runtime = Path(bench.env["BRIEFKIT_RUNTIME_DIR"])
    for checkout in checkouts:
        if (checkout.path / "exporters" / "check_daemon.py").is_file() and any(runtime.glob("*.sock")):
            stop = "import sys; from pathlib import Path; from exporters.check_daemon import stop\n"
            stop += "for s in Path(sys.argv[1]).glob('*.sock'): stop(s)"
            with contextlib.suppress(subprocess.TimeoutExpired):  # then killed below, by the marker
                subprocess.run([sys.executable, "-c", stop, str(runtime)], cwd=checkout.path, timeout=30, check=False)
    for checkout in checkouts:
        if checkout.env:
            run_build(bench, checkout, ["server", "stop"], 60)
    for pgid in bench.groups[:1]:  # the server: let it shut down cleanly first
        kill_group(pgid, signal.SIGINT)
    time.sleep(1)
    for pgid in bench.groups:
        kill_group(pgid)
    token = bench.env[MARKER]
    for pid in marked_pids(token):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    time.sleep(0.5)
    if left := marked_pids(token):
        print(f"warning: processes of this run still alive: {left}", file=sys.stderr)
    for path in bench.worktrees:
        subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(path)], check=False)
    if bench.worktrees:
        subprocess.run(["git", "-C", str(ROOT), "worktree", "prune"], check=False)


def build_env(work: Path) -> dict[str, str]:
    """This environment without Prefect's or briefkit's settings, plus the bench's own."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "BRIEFKIT_"))}
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # builds keep their bytecode, as an installed briefkit does
    runtime = work / "runtime"  # the old code's daemon sockets, instead of $XDG_RUNTIME_DIR/briefkit
    runtime.mkdir(mode=0o700)
    return env | {
        "PREFECT_HOME": str(work / "prefect-home"),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "BRIEFKIT_RUNTIME_DIR": str(runtime),
        MARKER: uuid.uuid4().hex,
    }


def make_checkouts(bench: Bench, args: argparse.Namespace) -> list[Checkout]:
    old = add_worktree(bench, args.old_ref, "old")
    if args.new_ref:
        new = add_worktree(bench, args.new_ref, "new")
    else:
        new = Path(args.new_path).resolve() if args.new_path else ROOT
    for path in (old, new):
        check_imports(path)
    return [
        Checkout("old", f"old {checkout_label(old)}", old, cli_module(old)),
        Checkout("new", f"new {checkout_label(new)}", new, cli_module(new)),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--old-ref", default="42949b2", help="commit of the OLD checkout (default: 42949b2)")
    new = parser.add_mutually_exclusive_group()
    new.add_argument("--new-ref", default="", help="a commit for the NEW checkout, in a worktree of its own")
    new.add_argument("--new-path", default="", help="a checkout directory for NEW (default: this script's)")
    parser.add_argument("--passages", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--timeout", type=float, default=900, help="seconds before a build is killed")
    args = parser.parse_args()
    signal.signal(signal.SIGINT, signal.default_int_handler)  # also when started with SIGINT ignored (`cmd &`)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # run the clean-up as on Ctrl-C

    work = Path(tempfile.mkdtemp(prefix="briefkit-bench-flow-"))
    bench = Bench(work, build_env(work))
    checkouts: list[Checkout] = []
    try:
        checkouts = make_checkouts(bench, args)
        bench.env["PREFECT_API_URL"] = url = start_server(bench)
        seed = shutil.copytree(ROOT / "source" / "support-for-ukraine", work / "source" / "support-for-ukraine")
        large = make_publication(work / "source" / f"bench-{args.passages}", passages=args.passages)
        publications = {"seed": seed, f"{args.passages:,}": large}
        print(f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}; Prefect server at {url}")
        for c in checkouts:
            print(f"  {c.label}: {c.path} ({c.module})")

        for c in checkouts:
            if (c.path / "flows" / "checks.py").is_file():  # as a user runs it: its local server and check worker
                c.env = {"PREFECT_API_URL": "", "PREFECT_HOME": str(work / f"prefect-home-{c.role}")}
                started = run_build(bench, c, ["server", "start"], args.timeout)
                print(f"  {c.label}: {started.said or started.error}")
                wait_for_worker(bench, c, args.timeout)
        cells = run_rows(bench, checkouts, publications, args.repeat, args.timeout)
        print_table(cells, checkouts, publications, args.repeat)
    except KeyboardInterrupt:
        print("interrupted: cleaning up", file=sys.stderr)
    finally:
        clean_up(bench, checkouts)
        shutil.rmtree(work, ignore_errors=True)


def wait_for_worker(bench: Bench, checkout: Checkout, timeout: float) -> None:
    """Until the local worker takes builds, as it does a few seconds after the server starts
    (a checkout whose status does not say so builds in each command)."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        status = run_build(bench, checkout, ["server", "status"], timeout)
        if "on-demand builds run in" not in status.said or "warm worker" in status.said:
            print(f"  {checkout.label}: {status.said}")
            return
        time.sleep(1)


def run_rows(
    bench: Bench, checkouts: list[Checkout], publications: dict[str, Path], repeat: int, timeout: float
) -> dict[tuple[str, str], Cell]:
    """Every build: one forced per checkout and publication, untimed, then ``repeat`` rounds of
    every row, old and new alternating. Cells by (row name, checkout label)."""
    cells: dict[tuple[str, str], Cell] = {}
    broken: set[tuple[str, str]] = set()  # (checkout, publication) whose first build failed

    def build(c: Checkout, pub: str, options: list[str]) -> Run:
        out = bench.work / "out" / f"{c.role}-{publications[pub].name}"
        return run_build(bench, c, ["build", str(publications[pub]), "--out", str(out), *options], timeout)

    for pub in publications:
        for c in checkouts:
            run = build(c, pub, ["--force"])
            print(f"  first build, untimed: {pub} {c.label}: " + (f"{run.seconds:.2f} s" if run.seconds else "FAILED"))
            if run.seconds is None:
                broken.add((c.label, pub))
                for row in ROWS:
                    cells.setdefault((f"{pub} {row}", c.label), Cell()).add(run)
    for i in range(repeat):
        for pub in publications:
            for row, options in ROWS.items():
                for c in checkouts:
                    if (c.label, pub) not in broken:
                        cells.setdefault((f"{pub} {row}", c.label), Cell()).add(build(c, pub, options))
        print(f"  round {i + 1}/{repeat} done, load average {os.getloadavg()[0]:.2f}")
    return cells


def print_table(
    cells: dict[tuple[str, str], Cell], checkouts: list[Checkout], publications: dict[str, Path], repeat: int
) -> None:
    old, new = (c.label for c in checkouts)
    large = list(publications)[1]
    targets = {f"{p} forced": "new/old <= 1.3" for p in publications} | {f"{large} up to date": "new < 2 s"}
    print(f"\nbriefkit build wall time, s: median (min-max) of {repeat}")
    print(f"{'':<18} {old:<24} {new:<24} {'new/old':>7}   target")
    for pub in publications:
        for row in ROWS:
            name = f"{pub} {row}"
            a, b = cells.get((name, old), Cell()), cells.get((name, new), Cell())
            ratio = (
                f"{statistics.median(b.seconds) / statistics.median(a.seconds):7.2f}" if a.seconds and b.seconds else ""
            )
            print(f"{name:<18} {a.summary():<24} {b.summary():<24} {ratio:>7}   {targets.get(name, '')}")
    print("\nwhat each build printed last (its first successful run):")
    for (name, label), cell in cells.items():
        if cell.said:
            print(f"  {name:<18} {label:<24} {cell.said[:90]}")
    shown: set[str] = set()
    for (name, label), cell in cells.items():
        for error in cell.failures:
            if error not in shown:
                shown.add(error)
                print(f"\n{label}, {name}: build failed, {error}")


if __name__ == "__main__":
    main()
