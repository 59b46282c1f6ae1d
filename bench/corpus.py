"""A large, valid, deterministic publication for benchmarks: real source files on disk.

``make_publication(directory, passages=1000, words_per_passage=100)`` writes
``directory/publication.yaml`` and ``directory/passages/NNNN-passage-N.md``: short
sentences of common English words with some Greek and Cyrillic, emphasis, a list every
fifth passage and a subheading every seventh, so every exporter meets its usual
constructs. The same arguments always give the same bytes (a fixed seed, a fixed edition).

With ``rich=True`` every tenth passage also holds a GFM pipe table and a footnote (a
reference and its definition).
"""

from __future__ import annotations

import random
import shutil
from pathlib import Path

WORDS = [
    "aid",
    "alliance",
    "allies",
    "analysts",
    "army",
    "budget",
    "border",
    "ceasefire",
    "coalition",
    "commitment",
    "council",
    "defence",
    "democracy",
    "diplomacy",
    "economy",
    "energy",
    "envoy",
    "europe",
    "forces",
    "framework",
    "funding",
    "governments",
    "guarantee",
    "humanitarian",
    "industry",
    "intelligence",
    "leaders",
    "logistics",
    "ministers",
    "negotiations",
    "officials",
    "parliament",
    "partners",
    "peace",
    "policy",
    "pressure",
    "reconstruction",
    "region",
    "reform",
    "resilience",
    "sanctions",
    "security",
    "strategy",
    "summit",
    "support",
    "talks",
    "territory",
    "training",
    "treaty",
    "troops",
    "ukraine",
    "union",
    "weapons",
    "agreed",
    "announced",
    "argued",
    "backed",
    "called",
    "expects",
    "faces",
    "focused",
    "helped",
    "hopes",
    "insisted",
    "plans",
    "pledged",
    "raised",
    "reported",
    "stressed",
    "warned",
    "long",
    "short",
    "new",
    "early",
    "late",
    "public",
    "regional",
    "broad",
    "steady",
    "joint",
    "κυβέρνηση",
    "ειρήνη",
    "συμμαχία",
    "мир",
    "союзники",
    "поддержка",
    "переговоры",
]


def _sentence(rng: random.Random, n: int) -> str:
    words: list[str] = []
    while len(words) < n:
        word = rng.choice(WORDS)
        if not words or word != words[-1]:  # a doubled word is a validation warning
            words.append(word)
    if n >= 6:
        i = rng.randrange(1, n - 1)
        words[i] = f"*{words[i]}*" if rng.random() < 0.5 else f"**{words[i]}**"
    return words[0].capitalize() + " " + " ".join(words[1:]) + "."


def _rich_parts(rng: random.Random, index: int) -> tuple[str, str]:
    """A GFM pipe table of three rows, and a footnote definition for the reference ``[^n]``."""
    rows = [f"| {rng.choice(WORDS)} | {rng.randint(1, 999)} | {rng.choice(WORDS)} |" for _ in range(3)]
    table = "\n".join(["| Topic | Count | Note |", "| --- | ---: | --- |", *rows])
    return table, f"[^{index}]: {_sentence(rng, rng.randint(6, 12))}"


def _body(rng: random.Random, index: int, words: int, rich: bool = False) -> str:
    sentences: list[str] = []
    left = words
    while left > 0:
        n = min(left, rng.randint(8, 18))
        n = left if left - n < 3 else n  # no stub sentence at the end
        sentences.append(_sentence(rng, n))
        left -= n
    groups = [sentences[i : i + 4] for i in range(0, len(sentences), 4)]
    paragraphs = [" ".join(g) for g in groups]
    if index % 5 == 0 and len(groups) > 1:
        paragraphs[-1] = "\n".join(f"- {s}" for s in groups[-1])
    if index % 7 == 3 and len(paragraphs) > 1:
        paragraphs.insert(1, f"## Part {index} in detail")
    if rich and index % 10 == 0:
        table, footnote = _rich_parts(rng, index)
        paragraphs[0] = paragraphs[0].replace(".", f"[^{index}].", 1)
        paragraphs[1:1] = [table]
        paragraphs.append(footnote)
    return "\n\n".join(paragraphs)


def make_publication(
    directory: Path, passages: int = 1000, words_per_passage: int = 100, seed: int = 1, rich: bool = False
) -> Path:
    """Write the publication into ``directory`` (replaced if it exists); return ``directory``.

    The directory's name is the publication id, so it must be a lower-case slug.
    """
    rng = random.Random(seed)
    if directory.exists():
        shutil.rmtree(directory)
    (directory / "passages").mkdir(parents=True)
    (directory / "publication.yaml").write_text(
        f"title: Benchmark brief of {passages} passages\n"
        "subtitle: Generated text for timing the pipeline\n"
        "language: en\norganisation: briefkit bench\nauthors: [briefkit bench]\n"
        "classification: OFFICIAL\nedition: 2025-03-01\n"
        f"description: {passages} generated passages of about {words_per_passage} words each.\n",
        encoding="utf-8",
    )
    width = len(str(passages))
    for i in range(1, passages + 1):
        title = _sentence(rng, rng.randint(3, 7)).rstrip(".").replace("*", "")
        summary = _sentence(rng, rng.randint(8, 14)).replace("*", "")
        text = f'---\ntitle: "{i}. {title}"\nsummary: "{summary}"\ntags: [bench, group-{i % 10}]\n---\n{_body(rng, i, words_per_passage, rich)}\n'
        (directory / "passages" / f"{i:0{width}d}-passage-{i}.md").write_text(text, encoding="utf-8")
    return directory


if __name__ == "__main__":
    import sys

    print(make_publication(Path(sys.argv[1] if len(sys.argv) > 1 else "/tmp/bench-brief")))
