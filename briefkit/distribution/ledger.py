"""The delivery ledger: one SQLite row per (publication, edition, reader address).

A row is written as ``pending`` before each attempt and turns ``sent`` only once the SMTP
server has accepted the message, so a re-run never sends a message twice and a failure
is never forgotten. Older editions' pending rows become ``superseded`` when a newer
edition is delivered: a reader gets the latest edition, not a backlog.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

PENDING, SENT, SUPERSEDED = "pending", "sent", "superseded"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS deliveries (
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


@dataclass(frozen=True)
class Delivery:
    publication_id: str
    edition: dt.date
    address: str
    name: str
    formats: tuple[str, ...]
    message_id: str
    status: str
    attempts: int
    last_error: str
    updated_at: str


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


class Ledger:
    """A thin typed layer over the SQLite file; every method is one short transaction."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        with self._connect() as db:
            db.execute(_SCHEMA)

    @contextlib.contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self.path, timeout=30)  # parallel deliveries wait for the lock
        try:
            with db:  # commits, or rolls back on error
                yield db
        finally:
            db.close()

    @contextlib.contextmanager
    def exclusive(self) -> Iterator[None]:
        """Hold the ledger for one run's deliveries: a concurrent run waits, then finds them
        sent. flock dies with its process, so a crashed run never blocks the next one."""
        with self.path.with_name(self.path.name + ".lock").open("a") as f:
            fcntl.flock(f, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(f, fcntl.LOCK_UN)

    def is_sent(self, publication_id: str, edition: dt.date, address: str) -> bool:
        with self._connect() as db:
            row = db.execute(
                "SELECT status FROM deliveries WHERE publication_id=? AND edition=? AND address=?",
                (publication_id, edition.isoformat(), address.lower()),
            ).fetchone()
        return row is not None and row[0] == SENT

    def attempt(self, d: Delivery) -> None:
        """Record that a send is about to start; a crash from here on leaves it pending."""
        with self._connect() as db:
            db.execute(
                """INSERT INTO deliveries VALUES (?, ?, ?, ?, ?, ?, 'pending', 1, '', ?)
                   ON CONFLICT DO UPDATE SET attempts = attempts + 1, status = 'pending',
                       name = excluded.name, formats = excluded.formats, updated_at = excluded.updated_at""",
                (
                    d.publication_id,
                    d.edition.isoformat(),
                    d.address.lower(),
                    d.name,
                    ",".join(d.formats),
                    d.message_id,
                    _now(),
                ),
            )

    def _set(self, publication_id: str, edition: dt.date, address: str, status: str, error: str) -> None:
        with self._connect() as db:
            db.execute(
                "UPDATE deliveries SET status=?, last_error=?, updated_at=? WHERE publication_id=? AND edition=? AND address=?",
                (status, error, _now(), publication_id, edition.isoformat(), address.lower()),
            )

    def sent(self, publication_id: str, edition: dt.date, address: str) -> None:
        self._set(publication_id, edition, address, SENT, "")

    def failed(self, publication_id: str, edition: dt.date, address: str, error: str) -> None:
        self._set(publication_id, edition, address, PENDING, error)

    def supersede(self, publication_id: str, edition: dt.date) -> None:
        """Pending deliveries of editions older than ``edition`` will not be sent any more."""
        with self._connect() as db:
            db.execute(
                "UPDATE deliveries SET status='superseded', updated_at=? WHERE publication_id=? AND edition<? AND status='pending'",
                (_now(), publication_id, edition.isoformat()),
            )

    def rows(self, status: str | None = None) -> list[Delivery]:
        query = (
            "SELECT * FROM deliveries"
            + (" WHERE status=?" if status else "")
            + " ORDER BY publication_id, edition, address"
        )
        with self._connect() as db:
            found = db.execute(query, (status,) if status else ()).fetchall()
        return [
            Delivery(p, dt.date.fromisoformat(e), a, n, tuple(filter(None, f.split(","))), m, s, t, err, u)
            for p, e, a, n, f, m, s, t, err, u in found
        ]
