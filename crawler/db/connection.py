"""Opening the database and the one way to write to it in a transaction.

One file holds everything; WAL mode lets the CLI read while a crawl or the scheduler writes, and
the busy timeout makes concurrent writers queue instead of failing.
"""

from __future__ import annotations

import os
import sqlite3
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import sqlite_utils

from crawler.db import schema

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


def open_db(path: str | Path) -> sqlite_utils.Database:
    """Open (creating) the database in WAL mode with a busy timeout, migrated to the current schema."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite_utils.Database(connect(path))
    if schema.version(db.conn) != schema.LATEST:  # a current database is only read
        with write_transaction(db):
            schema.migrate(db.conn)  # re-reads the version under the lock: another process may have migrated
    return db


@contextmanager
def write_transaction(db: sqlite_utils.Database) -> Iterator[sqlite_utils.Database]:
    """One all-or-nothing write that takes the write lock first (BEGIN IMMEDIATE).

    Not `with db.conn`: sqlite-utils commits its own inserts when no transaction is open, which
    would leave an article without its URLs or facts after a crash. Taking the lock before the
    first read means two processes checking-then-writing the same URL queue on the busy timeout
    instead of both writing or deadlocking.
    """
    db.conn.execute("BEGIN IMMEDIATE")
    try:
        yield db
    except BaseException:
        db.conn.rollback()
        raise
    db.conn.commit()


def close(db: sqlite_utils.Database) -> None:
    """Close the connection (a pipeline or spider at the end of its crawl)."""
    db.conn.close()
