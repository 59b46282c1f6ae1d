"""The delivery ledger: one SQLite row per (publication, edition, reader address).

A row is claimed (``sending``) in its own transaction before the message's DATA goes to the
server and turns ``sent`` once the server has accepted it, so no reader gets a message twice
unless an operator asks for it. What may or may not have reached the server is never guessed:

- ``pending``: not sent yet, or refused before the server could have it; the next run sends it.
- ``sending``: claimed by a run that is sending it now.
- ``sent``: the server accepted it. Never sent again.
- ``unconfirmed``: DATA began but no acceptance came back, or a run died while sending: the
  server may have it. Sent again only when the operator asks (``resend_unconfirmed``).
- ``failed``: refused for good (5xx to RCPT or DATA) or the message cannot be made. Tried
  again only when the operator asks (``retry_failed``).
- ``superseded``: a newer edition was delivered before this one went out. Never sent.

The file is in WAL mode; every write is one short ``BEGIN IMMEDIATE`` transaction that waits
up to a minute for the writer before it, so parallel deliveries and runs never see "database
is locked". One run at a time holds :meth:`Ledger.exclusive`, so a ``sending`` row found by
the next holder belongs to a run that died: :meth:`Ledger.recover` marks it ``unconfirmed``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import os
import sqlite3
import threading
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from pathlib import Path

from briefkit.manifest import parse_edition_name

PENDING, SENDING, SENT = "pending", "sending", "sent"
UNCONFIRMED, FAILED, SUPERSEDED = "unconfirmed", "failed", "superseded"
STATUSES = (PENDING, SENDING, SENT, UNCONFIRMED, FAILED, SUPERSEDED)
_FINAL = (PENDING, SENT, UNCONFIRMED, FAILED)  # where a claim may end
_VERSION = 1  # PRAGMA user_version of the current schema; 0 is the first one (no claims)
_BUSY_SECONDS = 60.0

_TABLE = f"""
CREATE TABLE {{name}} (
    publication_id TEXT NOT NULL,
    edition TEXT NOT NULL,
    address TEXT NOT NULL,
    name TEXT NOT NULL,
    formats TEXT NOT NULL,
    message_id TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN {STATUSES!r}),
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT NOT NULL DEFAULT '',
    updated_at TEXT NOT NULL,
    claimed_by INTEGER NOT NULL DEFAULT 0,
    claimed_at TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (publication_id, edition, address)
)
"""

# Schema 0 wrote 'pending' before each attempt and an error after a failed one: a pending row
# that was attempted and has no error was interrupted, or its 'sent' write failed, mid-send.
_UPGRADE_0 = """
INSERT INTO deliveries_new
SELECT publication_id, edition, address, name, formats, message_id,
       CASE WHEN status = 'pending' AND attempts > 0 AND last_error = '' THEN 'unconfirmed' ELSE status END,
       attempts, last_error, updated_at, 0, ''
FROM deliveries
"""


@dataclass(frozen=True)
class Key:
    """Which delivery: the address is compared without case, as mail servers do."""

    publication_id: str
    edition: str  # the edition id: 2026-12-03, or a same-day revision such as 2026-12-03-r2
    address: str

    def params(self) -> tuple[str, str, str]:
        return self.publication_id, self.edition, self.address.lower()


@dataclass(frozen=True)
class Letter:
    """What a claim records about the message it is about to send."""

    key: Key
    name: str
    formats: tuple[str, ...]
    message_id: str


@dataclass(frozen=True)
class Delivery:
    publication_id: str
    edition: str  # the edition id
    address: str
    name: str
    formats: tuple[str, ...]
    message_id: str
    status: str
    attempts: int
    last_error: str
    updated_at: str
    claimed_by: int  # pid of the process that last claimed it
    claimed_at: str

    @property
    def key(self) -> Key:
        return Key(self.publication_id, self.edition, self.address)


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")


_WHERE_KEY = "publication_id=? AND edition=? AND address=?"


class Ledger:
    """A thin typed layer over the SQLite file; each method is one short transaction."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        # One connection, kept open: closing the last one checkpoints the WAL, 5 ms a write
        self._db = sqlite3.connect(path, timeout=_BUSY_SECONDS, isolation_level=None, check_same_thread=False)
        self._lock = threading.Lock()  # this process's threads write one at a time, without SQLite's sleeps
        with self._read() as db:
            db.execute("PRAGMA journal_mode=WAL")  # readers never wait for the writer; persists in the file
            db.execute("PRAGMA synchronous=FULL")  # a claim is on disk before the DATA it allows
        with self._write() as db:
            version = db.execute("PRAGMA user_version").fetchone()[0]
            exists = db.execute("SELECT 1 FROM sqlite_master WHERE name='deliveries'").fetchone()
            if not exists:
                db.execute(_TABLE.format(name="deliveries"))
            elif version < _VERSION:  # a CHECK cannot be altered: copy into a new table
                db.execute(_TABLE.format(name="deliveries_new"))
                db.execute(_UPGRADE_0)
                db.execute("DROP TABLE deliveries")
                db.execute("ALTER TABLE deliveries_new RENAME TO deliveries")
            db.execute(f"PRAGMA user_version={_VERSION}")

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextlib.contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            yield self._db

    @contextlib.contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction. IMMEDIATE takes the write lock first, waiting for it: a deferred
        one would fail at once with "database is locked" when it upgrades from reading."""
        with self._read() as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
                db.execute("COMMIT")
            except BaseException:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise

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

    def recover(self) -> int:
        """Mark ``unconfirmed`` what dead runs left ``sending``; call it holding :meth:`exclusive`.
        Returns how many rows it marked."""
        with self._write() as db:
            return db.execute(
                """UPDATE deliveries SET status='unconfirmed', updated_at=?,
                       last_error='its run ended while sending (pid ' || claimed_by || ', claimed ' || claimed_at || ')'
                   WHERE status='sending'""",
                (_now(),),
            ).rowcount

    def status(self, key: Key) -> str | None:
        with self._read() as db:
            row = db.execute(f"SELECT status FROM deliveries WHERE {_WHERE_KEY}", key.params()).fetchone()
        return row[0] if row else None

    def claim(self, letter: Letter, reclaim: Collection[str] = ()) -> bool:
        """Move the delivery to ``sending`` for this process, from pending (or no row yet) or
        one of the ``reclaim`` statuses; False, changing nothing, if it is in any other."""
        claimable = (PENDING, *reclaim)
        if SENDING in claimable or SENT in claimable:
            raise ValueError("a delivery being sent or sent cannot be claimed")
        now = _now()
        with self._write() as db:
            return (
                db.execute(
                    f"""INSERT INTO deliveries VALUES (?, ?, ?, ?, ?, ?, 'sending', 1, '', ?, ?, ?)
                        ON CONFLICT DO UPDATE SET status='sending', attempts=attempts + 1, name=excluded.name,
                            formats=excluded.formats, message_id=excluded.message_id, updated_at=excluded.updated_at,
                            claimed_by=excluded.claimed_by, claimed_at=excluded.claimed_at
                        WHERE status IN ({",".join("?" * len(claimable))})""",
                    (
                        *letter.key.params(),
                        letter.name,
                        ",".join(letter.formats),
                        letter.message_id,
                        now,
                        os.getpid(),
                        now,
                        *claimable,
                    ),
                ).rowcount
                == 1
            )

    def finish(self, key: Key, status: str, error: str = "") -> None:
        """End this process's claim on ``key`` with ``status`` (pending, sent, unconfirmed or failed);
        also after :meth:`recover` took it for a dead run's: the claimant knows what happened."""
        if status not in _FINAL:
            raise ValueError(f"a claim cannot end {status!r}")
        with self._write() as db:
            db.execute(
                f"UPDATE deliveries SET status=?, last_error=?, updated_at=? WHERE {_WHERE_KEY} AND status IN ('sending', 'unconfirmed')",
                (status, error, _now(), *key.params()),
            )

    def supersede(self, publication_id: str, edition: str) -> None:
        """Pending deliveries of editions older than edition id ``edition`` will not be sent any more:
        a reader gets the latest edition (or revision), not a backlog."""
        newest = parse_edition_name(edition)
        with self._write() as db:
            pending = db.execute(
                "SELECT DISTINCT edition FROM deliveries WHERE publication_id=? AND status='pending'", (publication_id,)
            ).fetchall()
            for (older,) in pending:
                if newest and (parsed := parse_edition_name(older)) and parsed < newest:
                    db.execute(
                        "UPDATE deliveries SET status='superseded', updated_at=? WHERE publication_id=? AND edition=? AND status='pending'",
                        (_now(), publication_id, older),
                    )

    def rows(self, status: str | None = None) -> list[Delivery]:
        query = (
            "SELECT * FROM deliveries"
            + (" WHERE status=?" if status else "")
            + " ORDER BY publication_id, edition, address"
        )
        with self._read() as db:
            found = db.execute(query, (status,) if status else ()).fetchall()
        return [
            Delivery(p, e, a, n, tuple(filter(None, f.split(","))), m, s, t, err, u, by, at)
            for p, e, a, n, f, m, s, t, err, u, by, at in found
        ]
