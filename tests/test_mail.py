"""Email delivery against a real SMTP server (aiosmtpd) on 127.0.0.1, with the ledger."""

from __future__ import annotations

import datetime as dt
import smtplib
from pathlib import Path

import pytest

from briefkit.distribution.config import DistributionSettings
from briefkit.distribution.ledger import PENDING, SENT, SUPERSEDED, Ledger
from briefkit.distribution.mail import DeliveryError, deliver, message_id, smtp_connector
from briefkit.distribution.readers import Reader
from briefkit.manifest import Manifest, edition_dir
from tests.editions import publish_edition
from tests.smtp_server import PASSWORD, USERNAME, Inbox, smtp_server

pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")

ADA = Reader("Ada Lovelace", "ada@example.org", ("pdf", "epub"))
GRACE = Reader("Grace Hopper", "grace@example.org", None)


def settings(tmp_path: Path, port: int, **overrides: object) -> DistributionSettings:
    values: dict[str, object] = {
        "output_dir": tmp_path / "output", "smtp_host": "127.0.0.1", "smtp_port": port, "smtp_starttls": False,
        "smtp_username": USERNAME, "smtp_password": PASSWORD, "smtp_from": "Briefings <briefs@example.org>", "smtp_timeout": 10,
    }  # fmt: skip
    return DistributionSettings(**(values | overrides))


def send(s: DistributionSettings, m: Manifest, reader: Reader, ledger: Ledger | None = None) -> bool:
    return deliver(
        ledger or Ledger(s.ledger_path()),
        m,
        edition_dir(s.output_dir, m.publication_id, m.edition),
        reader,
        s,
        smtp_connector(s),
    )


def test_each_reader_gets_their_formats_byte_identical(tmp_path: Path) -> None:
    m = publish_edition(tmp_path / "output")
    inbox = Inbox()
    with smtp_server(inbox, auth=True) as port:
        s = settings(tmp_path, port)
        assert send(s, m, ADA) and send(s, m, GRACE)
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
    assert {d.status for d in Ledger(s.ledger_path()).rows()} == {SENT}


def test_a_rerun_sends_nothing_twice(tmp_path: Path) -> None:
    m = publish_edition(tmp_path / "output")
    inbox = Inbox()
    with smtp_server(inbox) as port:
        s = settings(tmp_path, port, smtp_username="")
        assert send(s, m, ADA)
        assert not send(s, m, ADA)
        assert not send(s, m, Reader("Ada", "ADA@example.org", None))  # the same mailbox
    assert len(inbox.messages) == 1


def test_large_editions_are_linked_not_attached(tmp_path: Path) -> None:
    m = publish_edition(tmp_path / "output")
    inbox = Inbox()
    with smtp_server(inbox) as port:
        s = settings(tmp_path, port, smtp_username="", mail_attach_limit=5000, site_url="https://briefs.example.org")
        send(s, m, ADA)
        with pytest.raises(DeliveryError, match="BRIEFKIT_SITE_URL"):
            send(
                settings(tmp_path, port, smtp_username="", mail_attach_limit=5000, ledger=tmp_path / "other.sqlite3"),
                m,
                ADA,
            )
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


@pytest.mark.parametrize("mode", ["refuse", "drop"])
def test_a_failing_server_leaves_the_delivery_pending_then_it_goes_once(tmp_path: Path, mode: str) -> None:
    m = publish_edition(tmp_path / "output")
    inbox = Inbox(failures=2, mode=mode)
    with smtp_server(inbox) as port:
        s = settings(tmp_path, port, smtp_username="")
        ledger = Ledger(s.ledger_path())
        for _ in range(2):
            with pytest.raises((smtplib.SMTPDataError, smtplib.SMTPServerDisconnected)):
                send(s, m, ADA, ledger)
        (row,) = ledger.rows(PENDING)
        assert row.attempts == 2 and row.last_error and inbox.messages == []
        assert send(s, m, ADA, ledger)
        assert not send(s, m, ADA, ledger)
    assert len(inbox.messages) == 1 and inbox.data_commands == 3
    (row,) = ledger.rows()
    assert (row.status, row.attempts, row.last_error) == (SENT, 3, "")


def test_a_connection_dropped_after_acceptance_is_not_sent_again(tmp_path: Path) -> None:
    m = publish_edition(tmp_path / "output")
    inbox = Inbox(failures=1, mode="drop-after-accept")
    with smtp_server(inbox) as port:
        s = settings(tmp_path, port, smtp_username="")
        assert send(s, m, ADA)
        assert not send(s, m, ADA)
    assert len(inbox.messages) == 1


def test_no_server_at_all_is_pending(tmp_path: Path) -> None:
    from tests.smtp_server import free_port

    m = publish_edition(tmp_path / "output")
    s = settings(tmp_path, free_port(), smtp_username="")
    with pytest.raises(ConnectionRefusedError):
        send(s, m, ADA)
    assert [d.status for d in Ledger(s.ledger_path()).rows()] == [PENDING]


def test_wrong_password_is_pending_and_never_recorded(tmp_path: Path) -> None:
    m = publish_edition(tmp_path / "output")
    with smtp_server(Inbox(), auth=True) as port:
        s = settings(tmp_path, port, smtp_password="wrong-" + PASSWORD)
        with pytest.raises(smtplib.SMTPAuthenticationError):
            send(s, m, ADA)
    (row,) = Ledger(s.ledger_path()).rows()
    assert row.status == PENDING and "535" in row.last_error
    assert PASSWORD.encode() not in s.ledger_path().read_bytes()


def test_a_newer_edition_supersedes_pending_ones(tmp_path: Path) -> None:
    out = tmp_path / "output"
    old = publish_edition(out, edition=dt.date(2025, 3, 1))
    ledger = Ledger(tmp_path / "ledger.sqlite3")
    with smtp_server(Inbox(failures=1)) as port:
        s = settings(tmp_path, port, smtp_username="")
        with pytest.raises(smtplib.SMTPDataError):
            send(s, old, ADA, ledger)
        new = publish_edition(out, edition=dt.date(2025, 4, 1))
        ledger.supersede(new.publication_id, new.edition)
        assert send(s, new, ADA, ledger)
    assert [(d.edition.day, d.status) for d in ledger.rows()] == [(1, SUPERSEDED), (1, SENT)]
    assert [d.edition.month for d in ledger.rows()] == [3, 4]


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
