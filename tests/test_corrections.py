"""A same-day correction reaches every reader exactly once: real builds, the publish flow, aiosmtpd."""

from __future__ import annotations

from pathlib import Path

import pytest

from flows.publish import publish
from tests.smtp_server import Inbox, smtp_server
from tests.test_flow_build import edit, only, run

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")]
READERS = "readers:\n  - address: ada@example.org\n  - address: grace@example.org\n    formats: [docx]\n"


def test_a_same_day_correction_reaches_every_reader_exactly_once(
    seed_copy: Path, tmp_path: Path, prefect_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    output = tmp_path / "output"
    only(seed_copy, "docx")
    (seed_copy / "readers.yaml").write_text(READERS, encoding="utf-8")
    inbox = Inbox()
    with smtp_server(inbox) as port:
        for key, value in {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": port, "SMTP_STARTTLS": "false",
                           "SMTP_FROM": "Briefings <briefs@example.org>"}.items():  # fmt: skip
            monkeypatch.setenv(f"BRIEFKIT_{key}", str(value))

        def publish_all() -> object:
            report = publish(output_dir=str(output), source_dir=str(seed_copy.parent), site_dir=str(tmp_path / "site"))
            assert report.ok, report
            return report

        assert run(seed_copy, output)[0].is_completed()
        assert len(publish_all().sent) == 2
        edit(seed_copy)  # the same day: a new revision
        state, [outcome] = run(seed_copy, output)
        assert state.is_completed() and outcome.manifest.edition_id == "2025-03-01-r2"
        second = publish_all()
        third = publish_all()
    assert len(second.sent) == 2 and not third.sent and third.already_sent == 2
    assert dict(inbox.received) == {"ada@example.org": 2, "grace@example.org": 2}
    subjects = sorted(m["Subject"] for m in inbox.messages)
    assert subjects.count("[OFFICIAL] International Support for Ukraine: edition of 2025-03-01") == 2
    corrected = [s for s in subjects if "revision 2, correcting 2025-03-01" in s]
    assert len(corrected) == 2
