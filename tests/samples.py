"""A passage that uses every construct of the model, for the exporters' round-trip tests."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from briefkit.markdown import parse_body
from briefkit.model import Passage, Publication

RICH_BODY = (
    r"""Intro with *emphasis*, **strong**, `code <x> & y` and a [link](https://example.org/?a=1&b=2).

## Second level

- first bullet
- second bullet
  1. nested one
  2. nested two
- 3\. not a number: a bullet whose text starts with a digit

  a second paragraph in the third item

### Third level

5. five
6. six

> A quoted line with **bold** text.
>
> > A nested quote.
>
> - quoted list item

Greek: Η γρήγορη καφέ αλεπού. Cyrillic: Швидка бура лисиця.
Unicode the font lacks: 😀 中文 𝄞, and RTL: שלום مرحبا 123.
Markup: \<b>not bold\</b> & "quotes" 'single' &amp; ]]> %s {x} (round (nested)) brackets, a back\\slash.
Long: Pneumonoultramicroscopicsilicovolcanoconiosis"""
    + "x" * 300
    + "."
)


def rich(seed: Publication) -> Publication:
    """The seed with a second passage, ``rich``, that uses every construct the model has."""
    blocks, diagnostics = parse_body(RICH_BODY, Path("rich.md"), 1)
    assert not diagnostics
    passage = Passage(id="rich", title="Ελληνικά & Кирилиця <title> 😀", summary="Everything at once.",
                      tags=("test",), blocks=blocks, file=Path("rich.md"), body_line=1)  # fmt: skip
    return dataclasses.replace(seed, passages=(seed.passages[0], passage, *seed.passages[1:]))
