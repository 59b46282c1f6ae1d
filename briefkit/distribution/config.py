"""Settings of the portal and the mailer, from BRIEFKIT_* environment variables or .env."""

from __future__ import annotations

from pathlib import Path

from pydantic import SecretStr

from briefkit.distribution.portal import normal_base
from briefkit.settings import Settings


class DistributionSettings(Settings):
    # Portal
    site_dir: Path | None = None  # web root; default <output_dir>/site
    site_url: str = ""  # public base URL, e.g. https://briefs.example.org/; makes links absolute
    site_title: str = "Briefings"

    # SMTP: either a Prefect EmailServerCredentials block by name, or the fields below
    smtp_block: str = ""
    smtp_host: str = ""  # empty and no block: mail delivery is switched off
    smtp_port: int = 587
    smtp_username: str = ""
    smtp_password: SecretStr = SecretStr("")
    smtp_starttls: bool = True
    smtp_ssl: bool = False  # implicit TLS, usually port 465
    smtp_timeout: float = 30.0  # seconds per network operation
    smtp_from: str = ""  # sender address, e.g. "Briefings <briefs@example.org>"

    # Delivery
    mail_attach_limit: int = 10 * 1024 * 1024  # above this total, formats are linked, not attached
    mail_retries: int = 3
    mail_retry_delay: float = 10.0  # seconds before the first retry; doubles each time
    ledger: Path | None = None  # default <output_dir>/deliveries.sqlite3

    def site_root(self, output: Path | None = None) -> Path:
        return self.site_dir or (output or self.output_dir) / "site"

    @property
    def base_url(self) -> str:
        return normal_base(self.site_url)

    def ledger_path(self, output: Path | None = None) -> Path:
        return self.ledger or (output or self.output_dir) / "deliveries.sqlite3"

    @property
    def mail_enabled(self) -> bool:
        return bool(self.smtp_block or self.smtp_host)


def get_distribution_settings() -> DistributionSettings:
    return DistributionSettings()
