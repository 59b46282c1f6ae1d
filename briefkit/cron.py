"""Cron expressions for scheduled builds, checked where they are read (cronsim).

A schedule with a typo is reported when the publication is validated, or when `briefkit
serve --cron` is given it, with what is wrong, rather than when the scheduler meets it.
"""

from __future__ import annotations

import datetime as dt

from cronsim import CronSim, CronSimError

FIELDS = "minute hour day-of-month month day-of-week"


def cron_problem(expression: str) -> str | None:
    """What is wrong with a five-field cron ``expression``, or None when nothing is."""
    count = len(expression.split())
    if count != 5:
        return f"it has {count} field{'s' * (count != 1)}, where cron has five ({FIELDS})"
    try:
        CronSim(expression, dt.datetime(2000, 1, 1))
    except CronSimError as exc:  # e.g. "Bad minute"
        return str(exc)[:1].lower() + str(exc)[1:]
    return None
