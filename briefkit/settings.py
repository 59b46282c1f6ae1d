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
    dask_address: str = ""  # scheduler of an existing Dask cluster for the build's tasks; "" = threads here
    lock_wait_seconds: float = 600  # how long a build-and-publish run waits for a publication another run builds


def get_settings() -> Settings:
    return Settings()
