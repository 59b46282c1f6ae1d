"""The Jinja2 environment shared by the portal, the feeds and the mail bodies.

HTML templates escape every value; only ``*.txt.j2`` (plain-text mail) does not.
"""

from __future__ import annotations

import datetime as dt
import functools
from importlib import resources

import jinja2

from briefkit.manifest import Manifest


def size(n: int) -> str:
    """Bytes for people: '812 kB (812,345 bytes)'; SI units, as browsers show downloads."""
    for unit, scale in (("GB", 10**9), ("MB", 10**6), ("kB", 10**3)):
        if n >= scale:
            return f"{n / scale:.1f} {unit} ({n:,} bytes)"
    return f"{n:,} bytes"


def longdate(day: dt.date) -> str:
    return f"{day.day} {day:%B %Y}"  # locale-independent, no leading zero


def edition_label(m: Manifest) -> str:
    """'Draft: edition 2026-12-03-r2, correction of 2026-12-03', the parts that apply."""
    said = f"edition {m.edition_id}" + (f", correction of {m.corrects}" if m.corrects else "")
    return f"Draft: {said}" if m.is_draft else said


@functools.cache
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("briefkit.distribution", "templates"),
        autoescape=lambda name: name is None or not name.endswith(".txt.j2"),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(size=size, longdate=longdate, edition_label=edition_label)
    return env


def render(template: str, **context: object) -> str:
    return environment().get_template(template).render(**context)


def static(name: str) -> bytes:
    """A file shipped beside the templates, e.g. style.css."""
    return resources.files("briefkit.distribution").joinpath("templates", name).read_bytes()
