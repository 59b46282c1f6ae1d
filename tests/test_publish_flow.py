"""The publish flow under Prefect: portal, deliveries with retries and backoff, the run's artifact.

Few tests, because the Prefect harness is slow to start; the logic is tested on the plain
functions in test_portal.py and test_mail.py.
"""

from __future__ import annotations

from pathlib import Path
from uuid import UUID

import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId, LogFilter, LogFilterFlowRunId
from prefect.logging.handlers import APILogHandler

from briefkit.distribution.ledger import PENDING, SENT, Ledger
from flows.publish import PublishReport, publish
from tests.editions import publish_edition
from tests.smtp_server import PASSWORD, USERNAME, Inbox, smtp_server

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")]

READERS = """readers:
  - name: Ada Lovelace
    address: ada@example.org
    formats: [pdf]
  - name: Grace Hopper
    address: grace@example.org
"""


@pytest.fixture(autouse=True)
def server(prefect_server: str) -> str:
    """Every flow run reports to the session's Prefect server (tests/conftest.py)."""
    return prefect_server


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    publish_edition(tmp_path / "output")
    source = tmp_path / "source" / "test-brief"
    source.mkdir(parents=True)
    (source / "publication.yaml").write_text("title: Test Brief\n", encoding="utf-8")
    (source / "readers.yaml").write_text(READERS, encoding="utf-8")
    for key, value in {
        "OUTPUT_DIR": tmp_path / "output", "SOURCE_DIR": tmp_path / "source", "SMTP_HOST": "127.0.0.1",
        "SMTP_STARTTLS": "false", "SMTP_USERNAME": USERNAME, "SMTP_PASSWORD": PASSWORD,
        "SMTP_FROM": "Briefings <briefs@example.org>", "SMTP_TIMEOUT": "10", "MAIL_RETRIES": "2", "MAIL_RETRY_DELAY": "0.05",
    }.items():  # fmt: skip
        monkeypatch.setenv(f"BRIEFKIT_{key}", str(value))
    return tmp_path


def run(port: int, monkeypatch: pytest.MonkeyPatch, **parameters: bool) -> tuple[PublishReport, str, str]:
    """One flow run; returns its report, its artifact's markdown and all its log text."""
    monkeypatch.setenv("BRIEFKIT_SMTP_PORT", str(port))
    state = publish(**parameters, return_state=True)
    report = state.result()
    run_id = UUID(str(state.state_details.flow_run_id))
    APILogHandler().flush()
    with get_client(sync_client=True) as client:
        (artifact,) = client.read_artifacts(
            artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[run_id]))
        )
        logs = client.read_logs(log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[run_id])))
    return report, str(artifact.data), "\n".join(log.message for log in logs)


def test_publish_delivers_once_and_a_rerun_sends_nothing(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    inbox = Inbox()
    with smtp_server(inbox, auth=True) as port:
        first, artifact, logs = run(port, monkeypatch)
        second, again, _ = run(port, monkeypatch)
    assert first.ok and second.ok
    assert sorted(a for _, _, a in first.sent) == ["ada@example.org", "grace@example.org"]
    assert second.sent == () and second.already_sent == 2 and second.site.written == ()
    assert len(inbox.messages) == 2
    site = workspace / "output" / "site"
    for msg in inbox.messages:
        for part in msg.iter_attachments():
            assert part.get_content() == (site / "test-brief" / "2025-03-01" / part.get_filename()).read_bytes()
    assert (
        "2 sent now, 0 sent before, 0 pending" in artifact
        and "| test-brief | 2025-03-01 | ada@example.org | sent |" in artifact
    )
    assert "0 sent now, 2 sent before, 0 pending" in again
    assert "sent 2025-03-01 to ada@example.org" in logs
    for text in (artifact, again, logs, (workspace / "output" / "deliveries.sqlite3").read_bytes().decode("latin-1")):
        assert PASSWORD not in text and USERNAME not in text


def test_failures_are_retried_then_left_pending_for_the_next_run(
    workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with smtp_server(Inbox(failures=100, mode="rcpt-refuse")) as port:  # 451 to every RCPT
        monkeypatch.delenv("BRIEFKIT_SMTP_USERNAME")
        failing, artifact, _ = run(port, monkeypatch)
    assert not failing.ok and failing.sent == ()
    assert sorted((d.address, d.attempts) for d in failing.pending) == [
        ("ada@example.org", 3),
        ("grace@example.org", 3),
    ]
    assert "## Pending" in artifact and "SMTPRecipientsRefused" in artifact
    inbox = Inbox(failures=1, mode="refuse")  # one refusal: that delivery succeeds on its retry
    with smtp_server(inbox) as port:
        recovered, artifact, _ = run(port, monkeypatch)
    assert recovered.ok and len(recovered.sent) == 2
    assert len(inbox.messages) == 2 and inbox.data_commands == 3
    rows = Ledger(workspace / "output" / "deliveries.sqlite3").rows()
    assert {d.status for d in rows} == {SENT} and sorted(d.attempts for d in rows) == [4, 5]
    assert not Ledger(workspace / "output" / "deliveries.sqlite3").rows(PENDING)


def test_an_unconfirmed_delivery_is_reported_and_resent_only_when_asked(
    workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BRIEFKIT_SMTP_TIMEOUT", "0.5")
    inbox = Inbox(failures=1, mode="late", late_by=1.5)  # the first message's 250 comes after the timeout
    with smtp_server(inbox) as port:
        monkeypatch.delenv("BRIEFKIT_SMTP_USERNAME")
        first, artifact, logs = run(port, monkeypatch)
        second, again, _ = run(port, monkeypatch)
        assert sorted(inbox.received.values()) == [1, 1]
        resent, _, _ = run(port, monkeypatch, resend_unconfirmed=True)
    (unconfirmed,) = first.unconfirmed
    assert not first.ok and len(first.sent) == 1 and "timed out" in unconfirmed.last_error
    assert "## Unconfirmed" in artifact and "1 unconfirmed" in artifact
    assert f"unconfirmed 2025-03-01 to {unconfirmed.address}" in logs
    assert not second.ok and second.sent == () and second.already_sent == 1 and second.unconfirmed
    assert "0 sent now, 1 sent before, 0 pending, 1 unconfirmed, 0 failed" in again
    assert resent.ok and resent.sent == (("test-brief", unconfirmed.edition, unconfirmed.address),)
    assert inbox.received[unconfirmed.address] == 2 and sum(inbox.received.values()) == 3


def test_build_and_publish_delivers_the_seed(seed_copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The deployment's flow end to end: a real build of the seed, its portal, its readers."""
    from flows.publish import build_and_publish

    (seed_copy / "readers.yaml").write_text(READERS, encoding="utf-8")
    output = tmp_path / "output"
    monkeypatch.setenv("BRIEFKIT_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("BRIEFKIT_SMTP_STARTTLS", "false")
    monkeypatch.setenv("BRIEFKIT_SMTP_FROM", "briefs@example.org")
    inbox = Inbox()
    with smtp_server(inbox) as port:
        monkeypatch.setenv("BRIEFKIT_SMTP_PORT", str(port))
        report = build_and_publish(str(seed_copy), str(output))
    assert report.ok and len(report.sent) == 2
    edition = output / seed_copy.name / "2025-03-01"
    site_edition = report.site_root / seed_copy.name / "2025-03-01"
    built = sorted(p.name for p in edition.iterdir() if p.name != "manifest.json")
    assert built and sorted(p.name for p in site_edition.iterdir() if p.name != "index.html") == built
    assert "International Support for Ukraine" in (report.site_root / "index.html").read_text(encoding="utf-8")
    by_to = {m["To"].addresses[0].addr_spec: m for m in inbox.messages}
    grace = {a.get_filename(): a.get_content() for a in by_to["grace@example.org"].iter_attachments()}
    assert sorted(grace) == built
    for name, data in grace.items():
        assert data == (edition / name).read_bytes() == (site_edition / name).read_bytes()
    assert [a.get_filename() for a in by_to["ada@example.org"].iter_attachments()] == [
        n for n in built if n.endswith(".pdf")
    ]


def test_the_scheduled_deployment_builds_then_publishes(tmp_path: Path) -> None:
    from flows.serve import plan, runner_deployments
    from tests.conftest import SEED

    (deployment,) = runner_deployments(plan([SEED], "", "Europe/Kyiv"), 0, tmp_path / "output", strict=True)
    assert deployment.flow_name == "build-and-publish" and deployment.name == "support-for-ukraine"
    assert deployment.parameters["strict"] is True  # serve --strict: warnings stop a run from publishing
    schedule = deployment.schedules[0].schedule
    assert (str(schedule.cron), schedule.timezone) == ("0 6 * * 1-5", "Europe/Kyiv")  # the seed's own schedule


def test_a_schedule_prefect_cannot_take_is_refused_before_serving(seed_copy: Path) -> None:
    """cronsim (validation) takes "5L", the last Friday; Prefect's scheduler does not."""
    from flows.serve import ScheduleRejected, plan

    yaml_path = seed_copy / "publication.yaml"
    kept = [line for line in yaml_path.read_text(encoding="utf-8").splitlines() if not line.startswith("schedule:")]
    yaml_path.write_text("\n".join(kept) + "\n", encoding="utf-8")
    with pytest.raises(ScheduleRejected, match="support-for-ukraine: Prefect cannot schedule '0 0 \\* \\* 5L'"):
        plan([seed_copy], "0 0 * * 5L", "UTC")


def test_credentials_from_an_email_server_credentials_block(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from prefect_email import EmailServerCredentials

    inbox = Inbox()
    with smtp_server(inbox, auth=True) as port:
        EmailServerCredentials(
            username=USERNAME, password=PASSWORD, smtp_server="127.0.0.1", smtp_type="INSECURE", smtp_port=port
        ).save("briefkit-test-smtp", overwrite=True)
        for key in ("SMTP_HOST", "SMTP_USERNAME", "SMTP_PASSWORD"):
            monkeypatch.delenv(f"BRIEFKIT_{key}")
        monkeypatch.setenv("BRIEFKIT_SMTP_BLOCK", "briefkit-test-smtp")
        report, artifact, logs = run(port, monkeypatch)
    assert report.ok and len(inbox.messages) == 2 and inbox.logins == [USERNAME, USERNAME]
    assert PASSWORD not in artifact + logs
