"""Exporter speed and memory, side by side with pandoc on the same text, three formats each.

    .venv/bin/python bench/export.py [--passages 1000] [--words 100] [--runs 5] [--rich] [--formats pdf] [--no-pandoc]

Generates a publication (bench/corpus.py), then in one process times each of briefkit's
exporters (median of --runs; the six formats are run round after round, so that load from
others on the machine falls on both tools alike), their Python peak memory (tracemalloc, one extra run each) and
the process's peak RSS. Then pandoc (pypandoc-binary) converts the same document, written as
one Markdown file, to docx, to epub, and to PDF without TeX: pandoc writes Typst
(``-s -t typst``) and the ``typst`` package from PyPI compiles it (``typst.compile``). The same
document: the title block, the executive summary (each passage's linked title and summary) and
a contents (``--toc``), as each of briefkit's formats has them, then the passages.
Each pandoc or typst run is a fresh process, its peak RSS read from its own rusage: typst
memoizes compilation within a process, so a second compile of the same file there costs a
fraction of the first, which no user converting a new document would see.

The target: briefkit's three formats together in at most half of pandoc's docx + epub +
pdf-via-typst time, and briefkit's peak memory under 400 MB. The figures are printed, not
kept here; on a shared machine they vary with load (the 1-minute load average is printed
before and after).

--rich makes every tenth passage hold a GFM pipe table and a footnote (bench/corpus.py), which
both tools typeset.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass, field
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

PANDOC_OPTIONS = ["--toc", "--toc-depth=1"]  # a contents of the passages, as the handout has
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
    steps: tuple[Child, ...] = ()  # the steps of a route of several commands


def run_child(command: list[str]) -> Child:
    """Run ``command``; raise with its stderr if it fails."""
    done = subprocess.run([sys.executable, "-c", MEASURE, *command], capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{command[:3]} exited {done.returncode}: {done.stderr[-2000:]}")
    seconds, peak_kib = done.stdout.split()
    return Child(float(seconds), int(peak_kib) / 1024)


def python_peak_mb(action: Callable[[], object]) -> float:
    tracemalloc.start()
    action()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak / 2**20


def pandoc_markdown(publication: Publication) -> str:
    """The same document as one Markdown file: the title block, the executive summary (each
    passage's title, linked, and summary), then a level-1 heading per passage. With ``--toc``
    (PANDOC_OPTIONS) pandoc adds the contents, as briefkit's three formats have them."""
    authors = "".join(f"\n  - {json.dumps(a)}" for a in publication.authors)
    parts = [
        f"---\ntitle: {json.dumps(publication.title)}\nsubtitle: {json.dumps(publication.subtitle)}\n"
        f"author:{authors}\ndate: {json.dumps(publication.edition_date)}\nlang: {publication.language}\n---\n",
        "# Executive summary {.unnumbered .unlisted}\n",
    ]
    parts += [f"- [**{p.title}**](#passage-{n})\\\n  {p.summary}" for n, p in enumerate(publication.passages)]
    for n, passage in enumerate(publication.passages):
        body = passage.file.read_text(encoding="utf-8").split("\n---\n", 1)[1]
        parts.append(f"\n# {passage.title} {{#passage-{n}}}\n\n{body}")
    return "\n".join(parts)


@dataclass
class Job:
    """One format of one tool: how to run it once, where it writes, and its runs so far."""

    label: str  # e.g. "briefkit pdf", "pandoc docx"
    run: Callable[[], Child]
    output: Path
    runs: list[Child] = field(default_factory=list)

    def median(self) -> float:
        return statistics.median(c.seconds for c in self.runs)


def briefkit_job(name: str, publication: Publication, work: Path) -> Job:
    exporter, out = get(name), work / f"ours-{name}"

    def run() -> Child:
        start = time.perf_counter()
        exporter.export(publication, out)
        return Child(time.perf_counter() - start, 0.0)  # this process's memory: see main

    return Job(f"briefkit {name}", run, out / exporter.format.filename(publication))


def pandoc_jobs(markdown: Path, work: Path) -> list[Job]:
    """docx and epub straight from Markdown; pdf as Markdown -> Typst -> PDF, both steps timed."""
    pandoc = __import__("pypandoc").get_pandoc_path()
    jobs = [
        Job(f"pandoc {fmt}", lambda t=target: run_child([pandoc, str(markdown), *PANDOC_OPTIONS, "-o", str(t)]), target)
        for fmt, target in (("docx", work / "pandoc.docx"), ("epub", work / "pandoc.epub"))
    ]
    typ, pdf = work / "pandoc.typ", work / "pandoc.pdf"

    def via_typst() -> Child:
        to_typst = run_child([pandoc, str(markdown), *PANDOC_OPTIONS, "-s", "-t", "typst", "-o", str(typ)])
        compiled = run_child([sys.executable, "-c", TYPST_COMPILE, str(typ), str(pdf)])
        steps = (to_typst, compiled)
        return Child(to_typst.seconds + compiled.seconds, max(to_typst.peak_mb, compiled.peak_mb), steps)

    return [*jobs, Job("pandoc pdf", via_typst, pdf)]


def report(job: Job, memory: str) -> None:
    size = job.output.stat().st_size / 1024
    line = f"  {job.label:<14} median {job.median():6.2f} s   {memory:<22} {size:8.0f} KiB"
    if steps := [c.steps for c in job.runs if c.steps]:
        (to_typst, compiled) = zip(*steps)
        line += (
            f"   (md -> typst {statistics.median(c.seconds for c in to_typst):.2f} s, {max(c.peak_mb for c in to_typst):.0f} MB;"
            f" typst.compile {statistics.median(c.seconds for c in compiled):.2f} s, {max(c.peak_mb for c in compiled):.0f} MB)"
        )
    print(line)


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
    parser.add_argument("--formats", default=",".join(names()), help="the formats to time, e.g. pdf (default: all)")
    parser.add_argument("--no-pandoc", action="store_true", help="time briefkit alone")
    args = parser.parse_args()
    formats = [name for name in names() if name in args.formats.split(",")]

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
        if publication is None:
            errors = [str(d) for d in diagnostics if d.is_error]
            raise SystemExit("the generated publication did not load:\n" + "\n".join(errors[:10]))
        word_count = sum(len(words(plain_text(p))) for p in publication.passages)
        rich = " (rich: tables and footnotes)" if args.rich else ""
        print(
            f"publication: {len(publication.passages)} passages{rich}, ~{word_count:,} words;"
            f" load+validate {load_s:.2f} s; median of {args.runs} runs"
        )

        markdown = work / "pandoc.md"
        markdown.write_text(pandoc_markdown(publication), encoding="utf-8")
        ours = [briefkit_job(name, publication, work) for name in formats]
        theirs = [] if args.no_pandoc else [j for j in pandoc_jobs(markdown, work) if j.label.split()[-1] in formats]
        for _ in range(args.runs):  # round after round, so that others' load falls on both alike
            for job in ours + theirs:
                job.runs.append(job.run())
        for job in ours:
            peak = python_peak_mb(job.run)
            report(job, f"python peak {peak:6.1f} MB")
        for job in theirs:
            report(job, f"peak RSS {max(c.peak_mb for c in job.runs):6.0f} MB")

    ours_total, pandoc_total = sum(j.median() for j in ours), sum(j.median() for j in theirs)
    rss_self = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"briefkit {'+'.join(formats)}: {ours_total:.2f} s")
    if theirs:
        rss_pandoc = max(c.peak_mb for j in theirs for c in j.runs)
        print(f"pandoc {'+'.join(formats)} (pdf via typst): {pandoc_total:.2f} s")
        print(f"ratio briefkit / pandoc: {ours_total / pandoc_total:.2f} (target <= 0.50)")
        print(f"peak RSS: briefkit process {rss_self:.0f} MB (target < 400), pandoc/typst {rss_pandoc:.0f} MB")
    else:
        print(f"peak RSS: briefkit process {rss_self:.0f} MB (target < 400)")
    print(f"load average {_load()} at end")


if __name__ == "__main__":
    main()
