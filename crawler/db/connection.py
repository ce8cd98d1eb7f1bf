"""Opening the database and the one way to write to it in a transaction.

`open_db(target)` takes what `--db` names: a file path opens SQLite (one file holds everything;
WAL mode lets the CLI read while a crawl or the scheduler writes, and the busy timeout makes
concurrent writers queue instead of failing), a `postgresql://` URL opens PostgreSQL
(crawler/db/postgres.py). Either way the database object is what every `crawler/db` function takes.
"""

from __future__ import annotations

import os
import sqlite3
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import sqlite_utils

from crawler.db import dialect, schema

BUSY_TIMEOUT_MS = 30_000  # how long a writer waits for another's write lock; env DXWATCH_BUSY_TIMEOUT (seconds)


def busy_timeout_ms() -> int:
    return int(float(os.environ.get("DXWATCH_BUSY_TIMEOUT", BUSY_TIMEOUT_MS / 1000)) * 1000)


def connect(path: str | Path) -> sqlite3.Connection:
    """A raw connection with the busy timeout and WAL (for code that needs no sqlite-utils)."""
    busy = busy_timeout_ms()
    conn = sqlite3.connect(str(path), timeout=busy / 1000, check_same_thread=False)
    conn.execute(f"PRAGMA busy_timeout = {busy}")
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    return conn


def open_db(target: str | Path):
    """Open (creating) the database, migrated to the current schema: an SQLite file in WAL mode with
    a busy timeout, or the PostgreSQL database a `postgresql://` URL names (it must exist)."""
    if dialect.is_server(target):
        db = _open_postgres(str(target))
    else:
        path = Path(target)
        path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite_utils.Database(connect(path))
    if schema.version(db.conn) != schema.LATEST:  # a current database is only read
        with write_transaction(db):
            schema.migrate(db.conn)  # re-reads the version under the lock: another process may have migrated
    return db


def _open_postgres(url: str):
    from crawler.db.postgres import PostgresDatabase

    db = PostgresDatabase(url)
    db.execute(f"SET lock_timeout = {busy_timeout_ms()}")  # a writer waits this long for the write lock
    return db


@contextmanager
def write_transaction(db) -> Iterator:
    """One all-or-nothing write that takes the write lock first (BEGIN IMMEDIATE).

    Not `with db.conn`: sqlite-utils commits its own inserts when no transaction is open, which
    would leave an article without its URLs or facts after a crash. Taking the lock before the
    first read means two processes checking-then-writing the same URL queue on the busy timeout
    instead of both writing or deadlocking.

    On PostgreSQL the same: a transaction that first takes one transaction-scoped advisory lock, so
    writers queue (up to the busy timeout, as `lock_timeout`) while readers never wait (MVCC). Every
    check-then-write of `crawler/db` (URL dedup, story assignment, frontier, outbox, run keys) thus
    behaves as on SQLite with any number of processes on any number of machines; unique keys with
    `ON CONFLICT` and conditional `UPDATE`s back it where a row is claimed.
    """
    if dialect.is_postgres(db):
        with db.conn.raw.transaction():
            db.execute("SELECT pg_advisory_xact_lock(?)", [dialect.WRITE_LOCK])
            yield db
        return
    db.conn.execute("BEGIN IMMEDIATE")
    try:
        yield db
    except BaseException:
        db.conn.rollback()
        raise
    db.conn.commit()


def close(db) -> None:
    """Close the connection (a pipeline or spider at the end of its crawl)."""
    db.conn.close()
