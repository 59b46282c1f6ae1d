"""Exporter speed and memory, side by side with pandoc on the same text, three formats each.

    /work/main/.venv/bin/python bench/export.py [--passages 1000] [--words 100] [--runs 5] [--rich]

Generates a publication (bench/corpus.py), then in one process times each of briefkit's
exporters (median of --runs), their Python peak memory (tracemalloc, one extra run each) and
the process's peak RSS. Then pandoc (pypandoc-binary) converts the same passages, written as
one Markdown file, to docx, to epub, and to PDF without TeX: pandoc writes Typst
(``-s -t typst``) and the ``typst`` package from PyPI compiles it (``typst.compile``).
Each pandoc or typst run is a fresh process, its peak RSS read from its own rusage: typst
memoizes compilation within a process, so a second compile of the same file there costs a
fraction of the first, which no user converting a new document would see.

The target: briefkit's three formats together in at most half of pandoc's docx + epub +
pdf-via-typst time, and briefkit's peak memory under 400 MB. The figures are printed, not
kept here; on a shared machine they vary with load (the 1-minute load average is printed
before and after).

--rich makes every tenth passage hold a GFM pipe table and a footnote (bench/corpus.py), for
the work that will support them; briefkit's CommonMark parser passes them through as plain
text today, while pandoc typesets them, so the comparison is not like for like yet.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from corpus import make_publication  # noqa: E402

import exporters  # noqa: E402
from briefkit.loader import load_publication  # noqa: E402
from briefkit.model import Publication, plain_text, words  # noqa: E402
from exporters.registry import get, names  # noqa: E402

# The shared virtualenv has briefkit installed (editable) from another checkout: this
# bench must time the code beside it.
assert Path(exporters.__file__).resolve().is_relative_to(ROOT), exporters.__file__

TYPST_COMPILE = "import sys, typst; typst.compile(sys.argv[1], output=sys.argv[2])"


# Runs argv[1:], then prints its wall seconds and peak RSS (KiB). Children are started through
# this small process because Linux carries a process's peak RSS across fork and exec: started
# from this one, every child would report at least this process's own peak.
MEASURE = """
import resource, subprocess, sys, time
start = time.perf_counter()
done = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL)
seconds = time.perf_counter() - start
print(seconds, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
sys.exit(done.returncode)
"""


@dataclass
class Child:
    """One finished child process: its wall time and its own peak resident memory."""

    seconds: float
    peak_mb: float


def run_child(command: list[str]) -> Child:
    """Run ``command``; raise with its stderr if it fails."""
    done = subprocess.run([sys.executable, "-c", MEASURE, *command], capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{command[:3]} exited {done.returncode}: {done.stderr[-2000:]}")
    seconds, peak_kib = done.stdout.split()
    return Child(float(seconds), int(peak_kib) / 1024)


def median_seconds(action: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def python_peak_mb(action: Callable[[], object]) -> float:
    tracemalloc.start()
    action()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak / 2**20


def pandoc_markdown(publication: Publication) -> str:
    """The same passages as one Markdown document: a level-1 heading per passage."""
    parts = [f"% {publication.title}\n"]
    for passage in publication.passages:
        body = passage.file.read_text(encoding="utf-8").split("\n---\n", 1)[1]
        parts.append(f"# {passage.title}\n\n{body}")
    return "\n".join(parts)


def time_briefkit(publication: Publication, work: Path, runs: int) -> dict[str, float]:
    """Median seconds per briefkit format; prints each with its Python peak and file size."""
    medians: dict[str, float] = {}
    for name in names():
        exporter, out = get(name), work / f"ours-{name}"
        medians[name] = median_seconds(lambda: exporter.export(publication, out), runs)
        peak = python_peak_mb(lambda: exporter.export(publication, out))
        size = (out / exporter.filename(publication)).stat().st_size
        print(
            f"  briefkit {name:<5} median {medians[name]:6.2f} s   python peak {peak:6.1f} MB   {size / 1024:8.0f} KiB"
        )
    return medians


def time_pandoc(markdown: Path, work: Path, runs: int) -> tuple[dict[str, float], float]:
    """Median seconds per pandoc format (pdf: Markdown -> Typst -> PDF, the two steps per run
    summed), printed with each file's size and peak RSS; and the highest peak RSS, MB."""
    pandoc = __import__("pypandoc").get_pandoc_path()
    medians: dict[str, float] = {}
    peak = 0.0
    for fmt in ("docx", "epub"):
        target = work / f"pandoc.{fmt}"
        children = [run_child([pandoc, str(markdown), "-o", str(target)]) for _ in range(runs)]
        medians[fmt] = statistics.median(c.seconds for c in children)
        fmt_peak = max(c.peak_mb for c in children)
        peak = max(peak, fmt_peak)
        print(
            f"  pandoc   {fmt:<5} median {medians[fmt]:6.2f} s   peak RSS {fmt_peak:6.0f} MB   {_kib(target):8.0f} KiB"
        )
    typ, pdf = work / "pandoc.typ", work / "pandoc.pdf"
    to_typst, compiles = [], []
    for _ in range(runs):
        to_typst.append(run_child([pandoc, str(markdown), "-s", "-t", "typst", "-o", str(typ)]))
        compiles.append(run_child([sys.executable, "-c", TYPST_COMPILE, str(typ), str(pdf)]))
    medians["pdf"] = statistics.median(a.seconds + b.seconds for a, b in zip(to_typst, compiles))
    typst_peak, typ_peak = max(c.peak_mb for c in compiles), max(c.peak_mb for c in to_typst)
    peak = max(peak, typst_peak, typ_peak)
    print(
        f"  pandoc   pdf   median {medians['pdf']:6.2f} s   peak RSS {max(typ_peak, typst_peak):6.0f} MB   {_kib(pdf):8.0f} KiB"
        f"   (md -> typst {statistics.median(c.seconds for c in to_typst):.2f} s, {typ_peak:.0f} MB;"
        f" typst.compile {statistics.median(c.seconds for c in compiles):.2f} s, {typst_peak:.0f} MB)"
    )
    return medians, peak


def _kib(path: Path) -> float:
    return path.stat().st_size / 1024


def _load() -> str:
    return f"{os.getloadavg()[0]:.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--passages", type=int, default=1000)
    parser.add_argument("--words", type=int, default=100)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--rich", action="store_true", help="a pipe table and a footnote in every tenth passage")
    args = parser.parse_args()

    import pypandoc
    import typst

    versions = f"pandoc {pypandoc.get_pandoc_version()}, typst (PyPI) {typst.__version__}"
    print(f"{os.cpu_count()} cores, load average {_load()} at start; {versions}; code from {ROOT}")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        source = make_publication(work / "bench-brief", args.passages, args.words, rich=args.rich)
        start = time.perf_counter()
        publication, diagnostics = load_publication(source)
        load_s = time.perf_counter() - start
        assert publication is not None, [str(d) for d in diagnostics if d.is_error]
        word_count = sum(len(words(plain_text(p))) for p in publication.passages)
        rich = " (rich: tables and footnotes)" if args.rich else ""
        print(
            f"publication: {len(publication.passages)} passages{rich}, ~{word_count:,} words;"
            f" load+validate {load_s:.2f} s; median of {args.runs} runs"
        )

        ours = time_briefkit(publication, work, args.runs)
        markdown = work / "pandoc.md"
        markdown.write_text(pandoc_markdown(publication), encoding="utf-8")
        theirs, pandoc_peak = time_pandoc(markdown, work, args.runs)

    ours_total, pandoc_total = sum(ours.values()), sum(theirs.values())
    rss_self = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"briefkit {'+'.join(ours)}: {ours_total:.2f} s; pandoc {'+'.join(theirs)} (pdf via typst): {pandoc_total:.2f} s"
    )
    print(f"ratio briefkit / pandoc: {ours_total / pandoc_total:.2f} (target <= 0.50)")
    print(f"peak RSS: briefkit process {rss_self:.0f} MB (target < 400), pandoc/typst {pandoc_peak:.0f} MB")
    print(f"load average {_load()} at end")


if __name__ == "__main__":
    main()
