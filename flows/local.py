"""Where flow runs report: the configured Prefect server, or one temporary local server.

With no PREFECT_API_URL, Prefect starts a temporary server in every process that needs
one, so each process-pool worker of the fan-out would start (and report to) its own.
Starting one here and passing its address on through the settings, which the task
runners hand to their workers, puts every task run in the same flow run and pays the
start-up once. An http:// API also spares every Prefect client a CA bundle (_no_tls).
"""

from __future__ import annotations

import contextlib
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import certifi
from prefect.events.worker import EventsWorker
from prefect.logging.handlers import APILogWorker
from prefect.settings import PREFECT_API_SSL_CERT_FILE, PREFECT_API_URL, temporary_settings


@contextlib.contextmanager
def prefect_api() -> Iterator[str]:
    """The API URL to report to for the block; a temporary server when none is configured."""
    configured = PREFECT_API_URL.value()
    if configured:
        with _no_tls(configured):
            yield configured
        return
    from prefect.server.api.server import SubprocessASGIServer  # the whole server app: 2 s to import

    server = SubprocessASGIServer()
    server.start()
    try:
        with temporary_settings({PREFECT_API_URL: server.api_url}), _no_tls(server.api_url):
            yield server.api_url
    finally:
        # Send the last logs and events while the server still listens: afterwards each
        # would be retried against a closed port for a minute.
        APILogWorker.drain_all(timeout=10)
        EventsWorker.drain_all(timeout=10)
        server.stop()


@contextlib.contextmanager
def _no_tls(api_url: str) -> Iterator[None]:
    """For an http:// API, give Prefect's clients a one-certificate CA file instead of certifi's.

    Every Prefect client loads its CA file into a TLS context, http:// API or not: about
    15 ms for certifi's bundle, and a task run in a worker process makes two clients, so
    this was about 30 ms of CPU per task. Plain HTTP never uses the file, whichever it is
    (e.g. SSL_CERT_FILE's, which Prefect takes by default). An https:// API is left alone.
    """
    if urlsplit(api_url).scheme != "http":
        yield
        return
    first = re.search(r"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----\n", certifi.contents(), re.DOTALL)
    with tempfile.TemporaryDirectory(prefix="briefkit-") as directory:
        ca_file = Path(directory) / "unused-ca.pem"
        ca_file.write_text(first.group(0) if first else certifi.contents(), encoding="ascii")
        with temporary_settings({PREFECT_API_SSL_CERT_FILE: str(ca_file)}):
            yield
