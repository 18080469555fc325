"""A paper book on disk: a folder holding ``book.db``, an SQLite database (Python's
sqlite3: one file, no server), the lock of the command writing to it, and the orders files
of its evenings (quant.live.orders).

The database keeps, by session (the evening a row was written), every strategy's account
(equity, cash, the state it carries to the next session: quant.engine.state), positions,
fills, refusals, events, the orders for the next session, the rows its signal tables
gained that evening (Parquet, with their SHA-256), the models it used (checkpoints:
weights and JSON only, with their SHA-256) and, per session, a fingerprint of the data it
was booked on. Everything is plain rows, JSON, Parquet or weights-only checkpoints: a book
never runs code when it is read.

An evening is one transaction (:meth:`Book.evening`: ``BEGIN IMMEDIATE`` .. ``COMMIT``,
the write-ahead log synced at each commit): killed at any point, the book is as it was
before that evening or as it is after it. A session already in ``sessions`` is never
booked again. Commands that write take the book's lock first (:meth:`Book.lock`, a lock
file held by the process): a second one at the same time is told the book is busy.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd
from filelock import FileLock, Timeout

from quant.engine.runner import EVENT_COLUMNS, FILL_COLUMNS, REFUSAL_COLUMNS
from quant.errors import UserError
from quant.io import atomic_path
from quant.live.orders import COLUMNS as ORDER_COLUMNS

DATABASE = "book.db"
LOCK = "book.lock"
#: The layout of the database; a book of another version is refused.
VERSION = 2  # 2: fills with their costs by kind, events with tax and note (issue 21)

SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE sessions (
    session TEXT PRIMARY KEY, next_session TEXT NOT NULL, data TEXT NOT NULL,
    booked_at TEXT NOT NULL);
CREATE TABLE accounts (
    session TEXT NOT NULL, strategy TEXT NOT NULL, equity REAL NOT NULL, cash REAL NOT NULL,
    state TEXT NOT NULL, PRIMARY KEY (session, strategy));
CREATE TABLE positions (
    session TEXT NOT NULL, strategy TEXT NOT NULL, code TEXT NOT NULL, shares REAL NOT NULL,
    close REAL NOT NULL, value REAL NOT NULL, tradable INTEGER NOT NULL,
    PRIMARY KEY (session, strategy, code));
CREATE TABLE fills (
    session TEXT NOT NULL, strategy TEXT NOT NULL, seq INTEGER NOT NULL, code TEXT NOT NULL,
    side TEXT NOT NULL, size REAL NOT NULL, price REAL NOT NULL, value REAL NOT NULL,
    costs REAL NOT NULL, commission REAL NOT NULL, transfer_fee REAL NOT NULL,
    stamp_duty REAL NOT NULL, dividend_tax REAL NOT NULL, note TEXT NOT NULL,
    PRIMARY KEY (session, strategy, seq));
CREATE TABLE refusals (
    session TEXT NOT NULL, strategy TEXT NOT NULL, seq INTEGER NOT NULL, code TEXT NOT NULL,
    side TEXT NOT NULL, size REAL NOT NULL, reason TEXT NOT NULL,
    PRIMARY KEY (session, strategy, seq));
CREATE TABLE events (
    session TEXT NOT NULL, strategy TEXT NOT NULL, seq INTEGER NOT NULL, code TEXT NOT NULL,
    event TEXT NOT NULL, shares_before REAL NOT NULL, shares_after REAL NOT NULL,
    cash REAL NOT NULL, tax REAL NOT NULL, note TEXT NOT NULL,
    PRIMARY KEY (session, strategy, seq));
CREATE TABLE orders (
    session TEXT NOT NULL, strategy TEXT NOT NULL, seq INTEGER NOT NULL, code TEXT NOT NULL,
    board TEXT NOT NULL, side TEXT NOT NULL, shares REAL NOT NULL, order_type TEXT NOT NULL,
    reference_price REAL, limit_up REAL, limit_down REAL, order_size TEXT NOT NULL,
    reason TEXT NOT NULL, may_stop TEXT NOT NULL, PRIMARY KEY (session, strategy, seq));
CREATE TABLE signals (
    session TEXT NOT NULL, strategy TEXT NOT NULL, name TEXT NOT NULL, rows INTEGER NOT NULL,
    sha256 TEXT NOT NULL, parquet BLOB NOT NULL, PRIMARY KEY (session, strategy, name));
CREATE TABLE models (
    key TEXT PRIMARY KEY, identity TEXT NOT NULL, slot TEXT NOT NULL, block TEXT NOT NULL,
    session TEXT NOT NULL, sha256 TEXT NOT NULL, checkpoint BLOB NOT NULL);
CREATE TABLE model_use (
    session TEXT NOT NULL, strategy TEXT NOT NULL, key TEXT NOT NULL,
    PRIMARY KEY (session, strategy, key));
"""

#: The tables with one row per (session, strategy, ...) and their columns after those two.
TABLES = {
    "positions": ("code", "shares", "close", "value", "tradable"),
    "fills": ("seq", *FILL_COLUMNS[1:]),
    "refusals": ("seq", *REFUSAL_COLUMNS[1:]),
    "events": ("seq", *EVENT_COLUMNS[1:]),
    "orders": ("seq", *ORDER_COLUMNS[1:]),  # the orders file's, less the strategy
}


class BookError(UserError):
    """A book that cannot be used: missing, of another version, damaged, busy, or asked
    for something it does not hold; the message names the book."""


def day(value: Any) -> str:
    """A session as the database writes it: ``YYYY-MM-DD``."""
    return pd.Timestamp(value).date().isoformat()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class Book:
    """An open book (see the module): ``folder`` holds its database. Open with
    :meth:`open`; create with :meth:`create`."""

    def __init__(self, folder: Path, connection: sqlite3.Connection) -> None:
        self.folder = folder
        self.db = connection

    # -- opening -----------------------------------------------------------------------
    @classmethod
    def create(cls, folder: str | Path, meta: dict[str, str]) -> Book:
        """A new book in ``folder`` (new, or empty) with ``meta`` (its config, start, ...):
        the database is written under a temporary name and renamed, so a book exists whole
        or not at all. BookError when ``folder`` already holds anything."""
        folder = Path(folder)
        if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
            raise BookError(
                f"{folder}: already exists and is not an empty folder; a book is started in a "
                "new folder (its evenings are not to be overwritten)"
            )
        folder.mkdir(parents=True, exist_ok=True)
        with atomic_path(folder / DATABASE) as temporary:
            connection = sqlite3.connect(temporary)
            try:
                connection.executescript(SCHEMA)
                rows = [("version", str(VERSION)), *meta.items()]
                connection.executemany("INSERT INTO meta VALUES (?, ?)", rows)
                connection.commit()
            finally:
                connection.close()
        return cls.open(folder)

    @classmethod
    def open(cls, folder: str | Path) -> Book:
        """The book in ``folder``; BookError when there is none, or one of another version."""
        folder = Path(folder)
        path = folder / DATABASE
        if not path.is_file():
            raise BookError(
                f"{folder}: no book there ({DATABASE} missing); start one with quant live init"
            )
        try:
            connection = sqlite3.connect(path, isolation_level=None, timeout=30)
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=FULL")
            version = connection.execute("SELECT value FROM meta WHERE key = 'version'").fetchone()
        except sqlite3.DatabaseError as error:
            raise BookError(f"{path}: not a book's database ({error})") from None
        if version is None or version[0] != str(VERSION):
            raise BookError(f"{path}: a book of version {version and version[0]}, not {VERSION}")
        return cls(folder, connection)

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Book:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def lock(self, command: str) -> Iterator[None]:
        """Hold the book's lock while ``command`` writes to it; BookError at once when
        another process holds it (the lock goes with its process, however it ends)."""
        lock = FileLock(self.folder / LOCK, timeout=0)
        try:
            lock.acquire()
        except Timeout:
            raise BookError(
                f"{self.folder}: the book is busy (another quant live command is writing to "
                f"it); {command} was not run: try again when it has finished"
            ) from None
        try:
            yield
        finally:
            lock.release()

    @contextmanager
    def evening(self) -> Iterator[sqlite3.Connection]:
        """One transaction: everything written inside is in the book after it, or none of
        it (an error or a kill rolls it back)."""
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    # -- reading -------------------------------------------------------------------------
    def meta(self, key: str) -> str:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        if row is None:
            raise BookError(f"{self.folder}: the book has no {key!r}")
        return row[0]

    def sessions(self) -> pd.DataFrame:
        """The sessions booked, in order: session, next_session, data, booked_at."""
        return self.frame("SELECT * FROM sessions ORDER BY session")

    def last_session(self) -> str | None:
        row = self.db.execute("SELECT MAX(session) FROM sessions").fetchone()
        return row[0]

    def booked(self, session: str) -> bool:
        row = self.db.execute("SELECT 1 FROM sessions WHERE session = ?", (session,)).fetchone()
        return row is not None

    def state(self, session: str, strategy: str) -> str:
        """The JSON state ``strategy``'s account carried out of ``session``."""
        row = self.db.execute(
            "SELECT state FROM accounts WHERE session = ? AND strategy = ?", (session, strategy)
        ).fetchone()
        if row is None:
            raise BookError(f"{self.folder}: no account of {strategy} at {session}")
        return row[0]

    def frame(self, query: str, parameters: tuple = ()) -> pd.DataFrame:
        """The rows of ``query`` as a DataFrame."""
        cursor = self.db.execute(query, parameters)
        names = [d[0] for d in cursor.description]
        return pd.DataFrame(cursor.fetchall(), columns=names)

    def table(self, name: str, session: str | None = None) -> pd.DataFrame:
        """A table of :data:`TABLES` (or ``accounts``), all sessions or one, in order."""
        where = "" if session is None else " WHERE session = ?"
        order = "session, strategy" + (", seq" if "seq" in TABLES.get(name, ()) else "")
        return self.frame(
            f"SELECT * FROM {name}{where} ORDER BY {order}", () if session is None else (session,)
        )

    def signals(self, strategy: str, name: str) -> pd.DataFrame:
        """The rows a strategy's signal table ``name`` gained, over every session, each
        checked against its SHA-256 (BookError naming the session otherwise)."""
        rows = self.db.execute(
            "SELECT session, sha256, parquet FROM signals WHERE strategy = ? AND name = ? "
            "ORDER BY session",
            (strategy, name),
        ).fetchall()
        frames = []
        for session, digest, data in rows:
            if sha256(data) != digest:
                raise BookError(
                    f"{self.folder}: the {name} rows of {strategy} at {session} differ from "
                    "their checksum"
                )
            frames.append(pd.read_parquet(io.BytesIO(data)))
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()

    def model(self, key: str) -> bytes | None:
        """A checkpoint the book keeps, checked against its SHA-256."""
        row = self.db.execute(
            "SELECT sha256, checkpoint FROM models WHERE key = ?", (key,)
        ).fetchone()
        if row is None:
            return None
        if sha256(row[1]) != row[0]:
            raise BookError(f"{self.folder}: model {key} differs from its checksum")
        return row[1]

    def models(self) -> pd.DataFrame:
        """The models the book keeps: key, identity, slot, block, session (first used)."""
        return self.frame(
            "SELECT key, identity, slot, block, session FROM models ORDER BY session, key"
        )

    def model_of(self, identity: str) -> str | None:
        """The key of the model the book chose for ``identity`` (quant.signals.models)."""
        row = self.db.execute("SELECT key FROM models WHERE identity = ?", (identity,)).fetchone()
        return None if row is None else row[0]


def write_rows(db: sqlite3.Connection, name: str, session: str, strategy: str, rows: list) -> None:
    """Insert ``rows`` (tuples in the order of :data:`TABLES`' columns) into ``name``."""
    columns = ("session", "strategy", *TABLES[name])
    marks = ", ".join("?" * len(columns))
    db.executemany(
        f"INSERT INTO {name} ({', '.join(columns)}) VALUES ({marks})",
        [(session, strategy, *row) for row in rows],
    )


def parquet_bytes(frame: pd.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    return buffer.getvalue()


def now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
