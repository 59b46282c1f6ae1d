"""Where flow runs report: the configured Prefect server, or one temporary local server.

With no PREFECT_API_URL, Prefect starts a temporary server in every process that needs
one, so each process-pool worker of the fan-out would start (and report to) its own.
Starting one here and passing its address on through the settings, which the task
runners hand to their workers, puts every task run in the same flow run and pays the
start-up once.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from prefect.events.worker import EventsWorker
from prefect.logging.handlers import APILogWorker
from prefect.settings import PREFECT_API_URL, temporary_settings


@contextlib.contextmanager
def prefect_api() -> Iterator[str]:
    """The API URL to report to for the block; a temporary server when none is configured."""
    configured = PREFECT_API_URL.value()
    if configured:
        yield configured
        return
    from prefect.server.api.server import SubprocessASGIServer  # the whole server app: 2 s to import

    server = SubprocessASGIServer()
    server.start()
    try:
        with temporary_settings({PREFECT_API_URL: server.api_url}):
            yield server.api_url
    finally:
        # Send the last logs and events while the server still listens: afterwards each
        # would be retried against a closed port for a minute.
        APILogWorker.drain_all(timeout=10)
        EventsWorker.drain_all(timeout=10)
        server.stop()
