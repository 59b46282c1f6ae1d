"""A passage that uses every construct of the model, for the exporters' round-trip tests."""

from __future__ import annotations

import dataclasses
import functools
from pathlib import Path

from briefkit.markdown import parse_body
from briefkit.model import Passage, Publication, numbered

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
    body = parse_body(RICH_BODY, Path("rich.md"), 1)
    blocks, diagnostics = body.blocks, body.diagnostics
    assert not diagnostics
    passage = Passage(id="rich", title="Ελληνικά & Кирилиця <title> 😀", summary="Everything at once.",
                      tags=("test",), blocks=blocks, file=Path("rich.md"), body_line=1)  # fmt: skip
    return dataclasses.replace(seed, passages=(seed.passages[0], passage, *seed.passages[1:]))


# A briefing page as an analyst writes one: a table of figures, sourced claims and a chart.
BRIEFING_BODY = """Military aid pledged to Ukraine rose again in 2024,[^kiel] led by the United States
and Germany.[^kiel] Deliveries lag pledges by months.[^lag]

| Donor | Pledged 2023 (€ bn) | Pledged 2024 (€ bn) | Change |
|:---|---:|---:|:---:|
| United States | 43.1 | 44.8 | *up* |
| Germany | 17.1 | 19.4 | **up** |
| United Kingdom | 9.1 | 9.8 | up |
| European Union institutions | 5.6 | 5.0 | down, see `EPF` |

Table: Military aid pledges by donor, [Kiel Institute](https://www.ifw-kiel.de/) tracker

![Bar chart of military aid pledged by donor in 2023 and 2024](figures/pledges.png "Pledges by donor, 2023-2024")

Totals exclude loans guaranteed by frozen Russian assets.

[^kiel]: Kiel Institute for the World Economy, *Ukraine Support Tracker*, February 2025.
[^lag]: Ministry of Defence of Ukraine, statement of 12 January 2025.
"""

# a `###` straight under the passage title: shown one level down, so the outline skips none
SKIPPING_BODY = (
    BRIEFING_BODY
    + "\n### Deliveries\n\nDeliveries lag, as the [Kiel tracker](https://www.ifw-kiel.de/) shows.\n"
    + "\n## Outlook\n\n> ## Quoted heading\n\nMore to come.\n"
)


def chart_png(path: Path, size: tuple[int, int] = (240, 120)) -> Path:
    """A small bar chart, drawn with Pillow, as a PNG at ``path``."""
    from PIL import Image, ImageDraw

    path.parent.mkdir(parents=True, exist_ok=True)
    image = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(image)
    for n, height in enumerate((90, 95, 35, 40, 20, 22, 12, 11)):
        x = 10 + n * 28
        draw.rectangle((x, size[1] - 10 - height, x + 20, size[1] - 10), fill="#1F3A5F" if n % 2 else "#B22222")
    image.save(path, format="PNG")
    return path


def briefing(seed: Publication, root: Path, markdown: str = BRIEFING_BODY, smart: bool = False) -> Publication:
    """The seed with a passage ``aid-pledges`` second: a table, footnotes and a figure whose
    image, figures/pledges.png, is drawn into ``root`` (the publication directory); ``smart``
    typesets its quotes and dashes."""
    from briefkit.loader import figure_file

    chart_png(root / "figures" / "pledges.png")
    body = parse_body(markdown, root / "aid-pledges.md", 1, functools.partial(figure_file, root), smart)
    assert not body.diagnostics, body.diagnostics
    passage = Passage(id="aid-pledges", title="Who pledges what", summary="Pledges rose; deliveries lag.",
                      tags=("aid",), blocks=body.blocks, file=root / "aid-pledges.md", body_line=1,
                      notes=body.notes)  # fmt: skip
    passages = numbered((seed.passages[0], passage, *seed.passages[1:]))
    return dataclasses.replace(seed, passages=passages)
