"""Exporter speed and memory, side by side with pandoc on the same text.

    .venv/bin/python bench/export.py [--passages 1000] [--words 100] [--runs 5]

Generates a publication (bench/corpus.py), then in one process times each of our exporters
(median of --runs), their Python peak memory (tracemalloc, one extra run each) and the
process's peak RSS, and pandoc (pypandoc-binary) converting the same passages, written as
one Markdown file, to docx and to epub. The target: our three formats together in at most
half of pandoc's docx + epub time, and peak memory under 400 MB.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from corpus import make_publication  # noqa: E402

from briefkit.loader import load_publication  # noqa: E402
from briefkit.model import Publication, plain_text, words  # noqa: E402
from exporters.registry import registry  # noqa: E402


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--passages", type=int, default=1000)
    parser.add_argument("--words", type=int, default=100)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    import pypandoc

    pandoc = pypandoc.get_pandoc_path()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        source = make_publication(work / "bench-brief", args.passages, args.words)
        start = time.perf_counter()
        publication, diagnostics = load_publication(source)
        load_s = time.perf_counter() - start
        assert publication is not None, [str(d) for d in diagnostics if d.is_error]
        word_count = sum(len(words(plain_text(p))) for p in publication.passages)
        print(f"publication: {len(publication.passages)} passages, ~{word_count:,} words; load+validate {load_s:.2f} s")

        ours: dict[str, float] = {}
        for name, exporter in registry().items():
            out = work / f"ours-{name}"
            ours[name] = median_seconds(lambda: exporter.export(publication, out), args.runs)
            peak = python_peak_mb(lambda: exporter.export(publication, out))
            size = (out / exporter.filename(publication)).stat().st_size
            print(
                f"  briefkit {name:<5} median {ours[name]:6.2f} s   python peak {peak:6.1f} MB   {size / 1024:8.0f} KiB"
            )

        markdown = work / "pandoc.md"
        markdown.write_text(pandoc_markdown(publication), encoding="utf-8")
        theirs: dict[str, float] = {}
        for fmt in ("docx", "epub"):
            target = work / f"pandoc.{fmt}"
            theirs[fmt] = median_seconds(
                lambda: subprocess.run([pandoc, str(markdown), "-o", str(target)], check=True), args.runs
            )
            print(f"  pandoc   {fmt:<5} median {theirs[fmt]:6.2f} s   {target.stat().st_size / 1024:8.0f} KiB")

    ours_total, pandoc_total = sum(ours.values()), sum(theirs.values())
    rss_self = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    rss_pandoc = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"briefkit {'+'.join(ours)}: {ours_total:.2f} s; pandoc docx+epub: {pandoc_total:.2f} s")
    print(f"ratio briefkit / pandoc: {ours_total / pandoc_total:.2f} (target <= 0.50)")
    print(f"peak RSS: briefkit process {rss_self:.0f} MB (target < 400), pandoc {rss_pandoc:.0f} MB")


if __name__ == "__main__":
    main()
