"""Each reader gets an edition at most once, and never silently not at all: many readers in
parallel, runs killed with SIGKILL part-way, two runs at once, all against aiosmtpd."""

from __future__ import annotations

from pathlib import Path

import pytest

from briefkit.distribution.ledger import SENT, UNCONFIRMED, Ledger
from tests import mailer_process
from tests.editions import publish_edition
from tests.smtp_server import Inbox, smtp_server
from tests.waiting import wait_for

pytestmark = pytest.mark.slow


def addresses(count: int) -> set[str]:
    return {r.address for r in mailer_process.readers(count)}


def test_a_thousand_readers_in_parallel_get_one_message_each(tmp_path: Path) -> None:
    output = tmp_path / "output"
    publish_edition(output)
    inbox = Inbox()
    with smtp_server(inbox) as port:
        assert mailer_process.start(output, port, 1000, workers=16).wait(timeout=60) == 0  # the server has a core
        again = mailer_process.run(output, port, 1000, workers=16)
    assert inbox.data_commands == 1000 and set(inbox.received) == addresses(1000)
    assert set(inbox.received.values()) == {1}
    assert {(o.status, o.now) for o in again} == {(SENT, False)} and len(again) == 1000
    assert {(d.status, d.attempts) for d in Ledger(output / "deliveries.sqlite3").rows()} == {(SENT, 1)}


@pytest.mark.parametrize(
    ("kill_after", "stall"),
    [(1, True), (90, True), (150, False)],
    ids=["first-message-unanswered", "90th-message-unanswered", "after-150-mid-stream"],
)
def test_a_killed_run_leaves_nobody_lost_and_nobody_sent_twice_unasked(
    tmp_path: Path, kill_after: int, stall: bool
) -> None:
    """SIGKILL once ``kill_after`` messages have arrived (the server holding back its 250 from
    then on, when ``stall``), then a run to completion, then one asked to resend.

    Guaranteed: after the second run every reader's row is sent or unconfirmed; sent ones got
    exactly one copy, unconfirmed ones at most one. Only the resend gives a second copy, and
    only to readers whose row was unconfirmed."""
    output = tmp_path / "output"
    publish_edition(output)
    inbox = Inbox(stall_at=kill_after if stall else 0)
    with smtp_server(inbox) as port:
        process = mailer_process.start(output, port, 200, workers=8)
        try:
            wait_for(f"{kill_after} messages", lambda: len(inbox.raw) >= kill_after, timeout=30, every=0.002)
        finally:
            process.kill()
        assert process.wait() == -9
        inbox.release()
        arrived_before_kill = sum(inbox.received.values())
        assert arrived_before_kill < 200
        mailer_process.run(output, port, 200, workers=8)
        rows = {d.address: d for d in Ledger(output / "deliveries.sqlite3").rows()}
        assert set(rows) == addresses(200)  # nobody lost
        unconfirmed = {a for a, d in rows.items() if d.status == UNCONFIRMED}
        assert {d.status for d in rows.values()} <= {SENT, UNCONFIRMED}
        assert all(inbox.received[a] == 1 for a, d in rows.items() if d.status == SENT)
        assert all(inbox.received[a] <= 1 for a in unconfirmed)
        if stall:  # the kill fell between the server's acceptance and the ledger's 'sent'
            assert any(inbox.received[a] == 1 for a in unconfirmed)
        assert all("its run ended while sending" in rows[a].last_error for a in unconfirmed)
        before_resend = dict(inbox.received)

        mailer_process.run(output, port, 200, workers=8, resend_unconfirmed=True)
    assert {d.status for d in Ledger(output / "deliveries.sqlite3").rows()} == {SENT}
    assert {a for a in addresses(200) if inbox.received[a] != before_resend.get(a, 0)} == unconfirmed
    assert all(1 <= inbox.received[a] <= 2 for a in addresses(200))
    assert {a for a, n in inbox.received.items() if n == 2} <= unconfirmed


def test_two_runs_at_once_send_each_message_once(tmp_path: Path) -> None:
    output = tmp_path / "output"
    publish_edition(output)
    inbox = Inbox()
    with smtp_server(inbox) as port:
        runs = [mailer_process.start(output, port, 300, workers=8) for _ in range(2)]
        assert [p.wait(timeout=60) for p in runs] == [0, 0]
    assert set(inbox.received) == addresses(300) and set(inbox.received.values()) == {1}
    assert {d.status for d in Ledger(output / "deliveries.sqlite3").rows()} == {SENT}
