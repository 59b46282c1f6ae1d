"""flows.local: which Prefect API a command's runs report to, and what its clients load."""

from __future__ import annotations

import ssl
from pathlib import Path

import certifi
from prefect.settings import PREFECT_API_SSL_CERT_FILE, PREFECT_API_URL, temporary_settings

from flows.local import prefect_api


def test_clients_of_an_http_api_load_a_one_certificate_ca_file_and_it_is_removed_after() -> None:
    with temporary_settings({PREFECT_API_URL: "http://127.0.0.1:9/api"}), prefect_api() as api:
        ca_file = Path(PREFECT_API_SSL_CERT_FILE.value())
        assert api == "http://127.0.0.1:9/api"
        assert ca_file.read_text(encoding="ascii").count("BEGIN CERTIFICATE") == 1
        ssl.create_default_context(cafile=str(ca_file))  # a valid CA file, as a client loads it
    assert not ca_file.exists()


def test_clients_of_an_https_api_keep_their_ca_file() -> None:
    settings = {PREFECT_API_URL: "https://prefect.invalid/api", PREFECT_API_SSL_CERT_FILE: certifi.where()}
    with temporary_settings(settings), prefect_api():
        assert PREFECT_API_SSL_CERT_FILE.value() == certifi.where()
