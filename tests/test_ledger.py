"""The delivery ledger on its own: claims, the upgrade of old files, writes under contention."""

from __future__ import annotations

import multiprocessing
import sqlite3
import threading
from pathlib import Path

import pytest

from briefkit.distribution.ledger import (
    FAILED,
    PENDING,
    SENDING,
    SENT,
    SUPERSEDED,
    UNCONFIRMED,
    Key,
    Ledger,
    Letter,
)

EDITION = "2025-03-01"  # an edition id

# The first schema, as users' deliveries.sqlite3 files have it
_SCHEMA_0 = """
CREATE TABLE deliveries (
    publication_id TEXT NOT NULL,
    edition TEXT NOT NULL,
    address TEXT NOT NULL,
    name TEXT NOT NULL,
    formats TEXT NOT NULL,
    message_id TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'sent', 'superseded')),
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT NOT NULL DEFAULT '',
    updated_at TEXT NOT NULL,
    PRIMARY KEY (publication_id, edition, address)
)
"""


def letter(address: str, edition: str = EDITION) -> Letter:
    return Letter(Key("test-brief", edition, address), "A Reader", ("pdf",), f"<{address}>")


def test_a_claim_is_taken_once_and_ends_where_the_send_ended(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "ledger.sqlite3")
    ada = letter("Ada@example.org")
    assert ledger.claim(ada) and not ledger.claim(ada)
    assert ledger.status(Key("test-brief", EDITION, "ada@EXAMPLE.org")) == SENDING
    ledger.finish(ada.key, PENDING, "451 try again")
    assert ledger.claim(ada)
    ledger.finish(ada.key, UNCONFIRMED, "timed out")
    assert not ledger.claim(ada) and ledger.claim(ada, reclaim=(UNCONFIRMED,))
    ledger.finish(ada.key, SENT)
    assert not ledger.claim(ada, reclaim=(UNCONFIRMED, FAILED))
    (row,) = ledger.rows()
    assert (row.status, row.attempts, row.last_error, row.claimed_by > 0) == (SENT, 3, "", True)
    with pytest.raises(ValueError, match="cannot be claimed"):
        ledger.claim(ada, reclaim=(SENT,))


def test_recover_marks_what_a_dead_run_left_sending_unconfirmed(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "ledger.sqlite3")
    for address in ("ada@example.org", "grace@example.org"):
        ledger.claim(letter(address))
    ledger.finish(letter("grace@example.org").key, SENT)
    assert ledger.recover() == 1 and ledger.recover() == 0
    assert [(d.address, d.status) for d in ledger.rows()] == [
        ("ada@example.org", UNCONFIRMED),
        ("grace@example.org", SENT),
    ]
    assert "its run ended while sending (pid" in ledger.rows(UNCONFIRMED)[0].last_error


def test_an_old_ledger_is_upgraded_in_place(tmp_path: Path) -> None:
    path = tmp_path / "deliveries.sqlite3"
    with sqlite3.connect(path) as db:
        db.execute(_SCHEMA_0)
        db.executemany(
            "INSERT INTO deliveries VALUES ('test-brief', ?, ?, 'A Reader', 'pdf,epub', '<m>', ?, ?, ?, '2025-03-01T06:00:00+00:00')",
            [
                ("2025-02-01", "old@example.org", "superseded", 1, "451 try again"),
                ("2025-03-01", "sent@example.org", "sent", 1, ""),
                ("2025-03-01", "refused@example.org", "pending", 2, "SMTPDataError: (451, b'try again')"),
                ("2025-03-01", "cut-off@example.org", "pending", 1, ""),  # attempted, never finished
                ("2025-03-01", "new@example.org", "pending", 0, ""),
            ],
        )
    db.close()
    ledger = Ledger(path)
    assert {d.address: (d.status, d.attempts, d.formats) for d in ledger.rows()} == {
        "old@example.org": (SUPERSEDED, 1, ("pdf", "epub")),
        "sent@example.org": (SENT, 1, ("pdf", "epub")),
        "refused@example.org": (PENDING, 2, ("pdf", "epub")),
        "cut-off@example.org": (UNCONFIRMED, 1, ("pdf", "epub")),
        "new@example.org": (PENDING, 0, ("pdf", "epub")),
    }
    assert ledger.claim(letter("refused@example.org")) and not ledger.claim(letter("cut-off@example.org"))
    ledger.finish(letter("refused@example.org").key, FAILED, "550 no such user")
    assert Ledger(path).status(letter("refused@example.org").key) == FAILED  # a second open changes nothing
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)


def _contend(path: Path, threads: int, addresses: int) -> int:
    """Claims every address from ``threads`` threads on one Ledger, while reading it; returns the claims won."""
    ledger = Ledger(path)
    won: list[int] = []

    def work() -> None:
        mine = 0
        for i in range(addresses):
            if ledger.claim(letter(f"reader{i}@example.org")):
                mine += 1
                ledger.finish(letter(f"reader{i}@example.org").key, SENT if i % 2 else PENDING, "")
            ledger.rows(SENDING)
        won.append(mine)

    workers = [threading.Thread(target=work) for _ in range(threads)]
    for t in workers:
        t.start()
    for t in workers:
        t.join()
    return sum(won)


def test_writes_under_contention_wait_instead_of_failing(tmp_path: Path) -> None:
    """4 processes x 4 threads claim the same 150 deliveries on a new file: no "database is
    locked" (an error in a child would fail its result), and every claim is won exactly once
    (odd ones end sent; even ones end pending and are claimed once more)."""
    path = tmp_path / "deliveries.sqlite3"
    with multiprocessing.get_context("spawn").Pool(4) as pool:
        won = pool.starmap(_contend, [(path, 4, 150)] * 4, chunksize=1)
    rows = Ledger(path).rows()
    assert len(rows) == 150 and {d.status for d in rows} <= {SENT, PENDING}
    assert sum(won) == sum(d.attempts for d in rows)
    assert all(d.attempts == 1 for d in rows if d.status == SENT)
