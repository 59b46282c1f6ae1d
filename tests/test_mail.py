"""Email delivery against a real SMTP server (aiosmtpd) on 127.0.0.1, with the ledger."""

from __future__ import annotations

import datetime as dt
import sqlite3
import time
from pathlib import Path

import pytest

from briefkit.distribution.config import DistributionSettings
from briefkit.distribution.ledger import FAILED, PENDING, SENDING, SENT, SUPERSEDED, UNCONFIRMED, Key, Ledger
from briefkit.distribution.mail import Outcome, deliver_all, message_id, smtp_connector
from briefkit.distribution.readers import Reader
from briefkit.manifest import Manifest, edition_dir
from tests.editions import publish_edition
from tests.smtp_server import PASSWORD, USERNAME, Inbox, free_port, smtp_server

pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")

ADA = Reader("Ada Lovelace", "ada@example.org", ("pdf", "epub"))
GRACE = Reader("Grace Hopper", "grace@example.org", None)


def settings(tmp_path: Path, port: int, **overrides: object) -> DistributionSettings:
    values: dict[str, object] = {
        "output_dir": tmp_path / "output", "smtp_host": "127.0.0.1", "smtp_port": port, "smtp_starttls": False,
        "smtp_username": USERNAME, "smtp_password": PASSWORD, "smtp_from": "Briefings <briefs@example.org>", "smtp_timeout": 10,
        "mail_retries": 0, "mail_retry_delay": 0.01,
    }  # fmt: skip
    return DistributionSettings(**(values | overrides))


def run(s: DistributionSettings, m: Manifest, *readers: Reader, **options: bool) -> list[Outcome]:
    """One run's deliveries of ``m``, as the publish flow makes them."""
    directory = edition_dir(s.output_dir, m.publication_id, m.edition)
    return deliver_all(Ledger(s.ledger_path()), m, directory, readers, s, smtp_connector(s), **options)


def statuses(outcomes: list[Outcome]) -> list[tuple[str, bool]]:
    return [(o.status, o.now) for o in outcomes]


def test_each_reader_gets_their_formats_byte_identical(tmp_path: Path) -> None:
    m = publish_edition(tmp_path / "output")
    inbox = Inbox()
    with smtp_server(inbox, auth=True) as port:
        s = settings(tmp_path, port)
        assert statuses(run(s, m, ADA, GRACE)) == [(SENT, True), (SENT, True)]
    assert inbox.logins == [USERNAME, USERNAME]
    by_to = {msg["To"].addresses[0].addr_spec: msg for msg in inbox.messages}
    assert set(by_to) == {"ada@example.org", "grace@example.org"}
    for reader, formats in ((ADA, ["pdf", "epub"]), (GRACE, ["docx", "pdf", "epub"])):
        msg = by_to[reader.address]
        assert msg["To"].addresses[0].display_name == reader.name
        assert msg["Subject"] == "[OFFICIAL] Test Brief: edition of 2025-03-01"  # the classification leads
        assert msg["Message-ID"].strip() == message_id(m, reader.address, s.smtp_from)  # the same on any resend
        attachments = {a.get_filename(): a.get_content() for a in msg.iter_attachments()}
        want = [f for f in m.files if f.format in formats]
        assert sorted(attachments) == sorted(f.name for f in want)
        for f in want:
            assert attachments[f.name] == (edition_dir(s.output_dir, m.publication_id, m.edition) / f.name).read_bytes()
        plain = msg.get_body(("plain",)).get_content()
        rich = msg.get_body(("html",)).get_content()
        for body in (plain, rich):
            assert "What the first passage says." in body and "OFFICIAL" in body
            assert all(f.sha256 in body for f in want)
    assert {(d.status, d.attempts) for d in Ledger(s.ledger_path()).rows()} == {(SENT, 1)}


def test_a_rerun_sends_nothing_twice(tmp_path: Path) -> None:
    m = publish_edition(tmp_path / "output")
    inbox = Inbox()
    with smtp_server(inbox) as port:
        s = settings(tmp_path, port, smtp_username="")
        assert statuses(run(s, m, ADA)) == [(SENT, True)]
        assert statuses(run(s, m, ADA, Reader("Ada", "ADA@example.org", None))) == [(SENT, False)] * 2  # one mailbox
    assert len(inbox.messages) == 1


def test_large_editions_are_linked_not_attached(tmp_path: Path) -> None:
    m = publish_edition(tmp_path / "output")
    inbox = Inbox()
    with smtp_server(inbox) as port:
        s = settings(tmp_path, port, smtp_username="", mail_attach_limit=5000, site_url="https://briefs.example.org")
        run(s, m, ADA)
    (msg,) = inbox.messages
    assert list(msg.iter_attachments()) == []
    for f in m.files:
        if f.format in ADA.formats:
            assert (
                f"https://briefs.example.org/test-brief/2025-03-01/{f.name}" in msg.get_body(("plain",)).get_content()
            )
            assert (
                f'href="https://briefs.example.org/test-brief/2025-03-01/{f.name}"'
                in msg.get_body(("html",)).get_content()
            )


def test_a_message_that_cannot_be_made_fails_until_the_operator_retries_it(tmp_path: Path) -> None:
    m = publish_edition(tmp_path / "output")
    inbox = Inbox()
    with smtp_server(inbox) as port:
        unlinkable = settings(tmp_path, port, smtp_username="", mail_attach_limit=5000)
        (failed,) = run(unlinkable, m, ADA)
        assert failed.status == FAILED and "BRIEFKIT_SITE_URL" in failed.error
        assert statuses(run(unlinkable, m, ADA)) == [(FAILED, False)]  # not retried by a run
        fixed = settings(tmp_path, port, smtp_username="", site_url="https://briefs.example.org")
        assert statuses(run(fixed, m, ADA)) == [(FAILED, False)]
        assert statuses(run(fixed, m, ADA, retry_failed=True)) == [(SENT, True)]
    assert len(inbox.messages) == 1 and Ledger(fixed.ledger_path()).rows()[0].attempts == 2


def test_a_refused_message_is_retried_then_left_pending_then_it_goes_once(tmp_path: Path) -> None:
    m = publish_edition(tmp_path / "output")
    inbox = Inbox(failures=2, mode="refuse")  # 451 to DATA, after the content: the server does not keep it
    with smtp_server(inbox) as port:
        s = settings(tmp_path, port, smtp_username="", mail_retries=1)
        (pending,) = run(s, m, ADA)
        (row,) = Ledger(s.ledger_path()).rows()
        assert (pending.status, row.status, row.attempts) == (PENDING, PENDING, 2) and "451" in row.last_error
        assert statuses(run(s, m, ADA)) == [(SENT, True)]
        assert statuses(run(s, m, ADA)) == [(SENT, False)]
    assert len(inbox.messages) == 1 and inbox.data_commands == 3
    (row,) = Ledger(s.ledger_path()).rows()
    assert (row.status, row.attempts, row.last_error) == (SENT, 3, "")


@pytest.mark.parametrize(("mode", "status", "attempts"), [("rcpt-refuse", PENDING, 3), ("rcpt-reject", FAILED, 1)])
def test_a_recipient_refused_before_data(tmp_path: Path, mode: str, status: str, attempts: int) -> None:
    """4xx to RCPT: retried in the run, then pending for the next one; 5xx: failed, not retried."""
    m = publish_edition(tmp_path / "output")
    inbox = Inbox(failures=100, mode=mode)
    with smtp_server(inbox) as port:
        s = settings(tmp_path, port, smtp_username="", mail_retries=2)
        (outcome,) = run(s, m, ADA)
        assert outcome.status == status and ("451" if status == PENDING else "550") in outcome.error
        assert inbox.failures == 100 - attempts and inbox.data_commands == 0
        (row,) = Ledger(s.ledger_path()).rows()
        assert (row.status, row.attempts, row.last_error) == (status, attempts, outcome.error)
        inbox.failures = 0
        assert statuses(run(s, m, ADA)) == [(SENT, True) if status == PENDING else (FAILED, False)]
    assert len(inbox.messages) == (status == PENDING)


def test_a_connection_dropped_after_data_began_is_unconfirmed_not_retried(tmp_path: Path) -> None:
    m = publish_edition(tmp_path / "output")
    inbox = Inbox(failures=1, mode="drop")
    with smtp_server(inbox) as port:
        s = settings(tmp_path, port, smtp_username="", mail_retries=2)
        (outcome,) = run(s, m, ADA)
        assert outcome.status == UNCONFIRMED and "SMTPServerDisconnected" in outcome.error
        assert statuses(run(s, m, ADA)) == [(UNCONFIRMED, False)]
        assert inbox.data_commands == 1
        assert statuses(run(s, m, ADA, resend_unconfirmed=True)) == [(SENT, True)]
    assert len(inbox.messages) == 1 and inbox.data_commands == 2


def test_a_server_that_answers_after_the_timeout_gets_one_copy_until_a_resend_is_asked(tmp_path: Path) -> None:
    m = publish_edition(tmp_path / "output")
    inbox = Inbox(failures=1, mode="late", late_by=1.5)
    with smtp_server(inbox) as port:
        s = settings(tmp_path, port, smtp_username="", smtp_timeout=0.5, mail_retries=3)
        (outcome,) = run(s, m, ADA)
        assert outcome.status == UNCONFIRMED and "timed out" in outcome.error
        time.sleep(1.2)  # the server's late 250 goes to a closed connection
        assert inbox.received["ada@example.org"] == 1
        assert statuses(run(s, m, ADA)) == [(UNCONFIRMED, False)]
        (row,) = Ledger(s.ledger_path()).rows()
        assert (row.status, row.attempts) == (UNCONFIRMED, 1)
        assert inbox.received["ada@example.org"] == 1
        assert statuses(run(s, m, ADA, resend_unconfirmed=True)) == [(SENT, True)]
        assert statuses(run(s, m, ADA, resend_unconfirmed=True)) == [(SENT, False)]
    assert inbox.received["ada@example.org"] == 2
    assert {msg["Message-ID"].strip() for msg in inbox.messages} == {message_id(m, ADA.address, s.smtp_from)}


class LedgerThatCannotRecordSent(Ledger):
    """A ledger whose 'sent' write fails, as a full disk or a damaged file would make it."""

    def finish(self, key: Key, status: str, error: str = "") -> None:
        if status == SENT:
            raise sqlite3.OperationalError("disk I/O error")
        super().finish(key, status, error)


def test_a_message_the_ledger_could_not_record_as_sent_is_never_sent_again(tmp_path: Path) -> None:
    m = publish_edition(tmp_path / "output")
    inbox = Inbox()
    with smtp_server(inbox) as port:
        s = settings(tmp_path, port, smtp_username="", mail_retries=2)
        directory = edition_dir(s.output_dir, m.publication_id, m.edition)
        broken = LedgerThatCannotRecordSent(s.ledger_path())
        (outcome,) = deliver_all(broken, m, directory, [ADA], s, smtp_connector(s))
        assert (outcome.status, outcome.now) == (SENDING, True) and "disk I/O error" in outcome.error
        assert statuses(run(s, m, ADA)) == [(UNCONFIRMED, False)]
    assert len(inbox.messages) == 1


def test_a_connection_dropped_after_acceptance_is_not_sent_again(tmp_path: Path) -> None:
    m = publish_edition(tmp_path / "output")
    inbox = Inbox(failures=1, mode="drop-after-accept")
    with smtp_server(inbox) as port:
        s = settings(tmp_path, port, smtp_username="")
        assert statuses(run(s, m, ADA)) == [(SENT, True)]
        assert statuses(run(s, m, ADA)) == [(SENT, False)]
    assert len(inbox.messages) == 1


def test_no_server_at_all_is_pending(tmp_path: Path) -> None:
    m = publish_edition(tmp_path / "output")
    s = settings(tmp_path, free_port(), smtp_username="", mail_retries=1)
    (outcome,) = run(s, m, ADA)
    assert outcome.status == PENDING and "ConnectionRefusedError" in outcome.error
    assert [(d.status, d.attempts) for d in Ledger(s.ledger_path()).rows()] == [(PENDING, 2)]


def test_wrong_password_is_pending_and_never_recorded(tmp_path: Path) -> None:
    m = publish_edition(tmp_path / "output")
    with smtp_server(Inbox(), auth=True) as port:
        s = settings(tmp_path, port, smtp_password="wrong-" + PASSWORD, mail_retries=0)
        run(s, m, ADA)
    (row,) = Ledger(s.ledger_path()).rows()
    assert row.status == PENDING and "535" in row.last_error
    assert PASSWORD.encode() not in s.ledger_path().read_bytes()


def test_a_newer_edition_supersedes_pending_ones(tmp_path: Path) -> None:
    out = tmp_path / "output"
    old = publish_edition(out, edition=dt.date(2025, 3, 1))
    with smtp_server(Inbox(failures=1)) as port:
        s = settings(tmp_path, port, smtp_username="", mail_retries=0)
        assert statuses(run(s, old, ADA)) == [(PENDING, False)]
        new = publish_edition(out, edition=dt.date(2025, 4, 1))
        assert statuses(run(s, new, ADA)) == [(SENT, True)]
    rows = Ledger(s.ledger_path()).rows()
    assert [(d.edition, d.status) for d in rows] == [("2025-03-01", SUPERSEDED), ("2025-04-01", SENT)]


def test_the_ledger_lets_one_run_deliver_at_a_time(tmp_path: Path) -> None:
    import threading

    ledger, order = Ledger(tmp_path / "ledger.sqlite3"), []
    holding, second_waiting = threading.Event(), threading.Event()

    def second() -> None:
        holding.wait()
        second_waiting.set()
        with Ledger(tmp_path / "ledger.sqlite3").exclusive():
            order.append("second")

    thread = threading.Thread(target=second)
    thread.start()
    with ledger.exclusive():
        holding.set()
        second_waiting.wait()
        thread.join(timeout=0.5)  # it must still be waiting for the lock
        order.append("first")
    thread.join()
    assert order == ["first", "second"]


def test_a_server_without_starttls_fails_at_once_naming_the_setting(tmp_path: Path) -> None:
    m = publish_edition(tmp_path / "output")
    with smtp_server(Inbox()) as port:
        s = settings(tmp_path, port, smtp_starttls=True, smtp_username="", mail_retries=3, mail_retry_delay=5)
        started = time.monotonic()
        (outcome,) = run(s, m, GRACE)
    assert time.monotonic() - started < 5  # no retries: waiting cannot fix a setting
    assert outcome.status == "failed" and "BRIEFKIT_SMTP_STARTTLS=false" in outcome.error
