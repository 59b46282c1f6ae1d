"""Test helper: one publish run's deliveries (deliver_all) to many readers, in a process of its own.

    python -m tests.mailer_process OUTPUT PORT READERS WORKERS

delivers the latest edition of ``test-brief`` under OUTPUT to READERS made-up readers through
the SMTP server on 127.0.0.1:PORT, with the ledger at OUTPUT/deliveries.sqlite3, so that a
test can kill it part-way, or run two at once.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from briefkit.distribution.config import DistributionSettings
from briefkit.distribution.ledger import Ledger
from briefkit.distribution.mail import Outcome, deliver_all, smtp_connector
from briefkit.distribution.readers import Reader
from briefkit.manifest import latest_dir, read_manifest

ROOT = Path(__file__).resolve().parent.parent


def readers(count: int) -> list[Reader]:
    return [Reader(f"Reader {i}", f"reader{i:04}@example.org", None) for i in range(count)]


def settings(output: Path, port: int) -> DistributionSettings:
    return DistributionSettings(
        output_dir=output, smtp_host="127.0.0.1", smtp_port=port, smtp_starttls=False,
        smtp_from="Briefings <briefs@example.org>", smtp_timeout=10, mail_retries=0,
    )  # fmt: skip


def run(output: Path, port: int, count: int, workers: int, resend_unconfirmed: bool = False) -> list[Outcome]:
    s = settings(output, port)
    m = read_manifest(latest_dir(output, "test-brief"))
    assert m is not None, output
    directory = latest_dir(output, "test-brief").resolve()
    ledger = Ledger(s.ledger_path())
    options = {"resend_unconfirmed": resend_unconfirmed, "workers": workers}
    return deliver_all(ledger, m, directory, readers(count), s, smtp_connector(s), **options)


def start(output: Path, port: int, count: int, workers: int) -> subprocess.Popen[bytes]:
    """This module's run in a new process."""
    args = [sys.executable, "-m", "tests.mailer_process", str(output), str(port), str(count), str(workers)]
    return subprocess.Popen(args, cwd=ROOT)


if __name__ == "__main__":
    output, port, count, workers = Path(sys.argv[1]), *map(int, sys.argv[2:5])
    run(output, port, count, workers)
