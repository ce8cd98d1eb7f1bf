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
from typing import Callable, Iterable, Iterator, TypeVar

import sqlite_utils

from crawler.db import dialect, schema

T = TypeVar("T")

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
        with write_transaction(db, [dialect.MIGRATION_LOCK]):
            schema.migrate(db.conn)  # re-reads the version under the lock: another process may have migrated
    return db


def _open_postgres(url: str):
    from crawler.db.postgres import PostgresDatabase

    db = PostgresDatabase(url)
    db.execute(f"SET lock_timeout = {busy_timeout_ms()}")  # a writer waits this long for a key another holds
    return db


@contextmanager
def write_transaction(db, keys: Iterable[str | int] = ()) -> Iterator:
    """One all-or-nothing write; `keys` name what it checks before it writes.

    Not `with db.conn`: sqlite-utils commits its own inserts when no transaction is open, which
    would leave an article without its URLs or facts after a crash.

    SQLite: BEGIN IMMEDIATE takes the file's one write lock before the first read, so two processes
    checking-then-writing the same URL queue on the busy timeout instead of both writing or
    deadlocking; `keys` add nothing to that.

    PostgreSQL: writers run at once and readers never wait (MVCC). Where one writer's check could
    be made stale by another's write (is this URL stored? which story has this body? is this
    recipient's mail for the run queued?), the caller names what it checks in `keys` (a URL, a body
    hash, a band key, a recipient) and the transaction first takes a transaction-scoped advisory
    lock on each, so writers touching the same thing take turns and all others go on in parallel.
    Unique keys with `ON CONFLICT` and conditional `UPDATE`s (row locks) cover the rest. A writer
    waits up to the busy timeout (`lock_timeout`) for a key.
    """
    if dialect.is_postgres(db):
        with db.conn.raw.transaction():
            dialect.take_write_keys(db, keys)
            yield db
        return
    db.conn.execute("BEGIN IMMEDIATE")
    try:
        yield db
    except BaseException:
        db.conn.rollback()
        raise
    db.conn.commit()


def write_retrying(db, write: Callable[[], T], keys: Iterable[str | int] = (), attempts: int = 3) -> T:
    """`write()` in `write_transaction(db, keys)`, run again when PostgreSQL rolled it back to break
    a deadlock. The writes of `crawler/db` take keys sorted and many rows in URL order, and an
    article's transaction updates at most one shared row (its story's), so none is expected: this
    is PostgreSQL's advice for any writer, so that a cycle nobody foresaw costs a rerun, not a
    failed crawl. `write` must only touch the database, so a rerun is exact."""
    keys = list(keys)
    for _ in range(attempts - 1):
        try:
            with write_transaction(db, keys):
                return write()
        except dialect.conflict_errors():
            continue
    with write_transaction(db, keys):
        return write()


def key_batches(db, items: list[T], keys_of: Callable[[T], Iterable[str | int]]) -> Iterator[tuple[list[T], list]]:
    """`items` cut into runs of one write transaction each, with the keys each run checks.

    SQLite: one run (a commit is what costs there, and keys take no locks). PostgreSQL: each key is
    a lock held to the commit in a shared table sized for `max_locks_per_transaction` (64) per
    session, so runs stay within KEYS_PER_TRANSACTION keys (an item with more goes alone).
    """
    if not dialect.is_postgres(db):
        yield items, [key for item in items for key in keys_of(item)]
        return
    batch: list[T] = []
    keys: list = []
    for item in items:
        item_keys = list(keys_of(item))
        if batch and len(keys) + len(item_keys) > dialect.KEYS_PER_TRANSACTION:
            yield batch, keys
            batch, keys = [], []
        batch.append(item)
        keys += item_keys
    if batch:
        yield batch, keys


def close(db) -> None:
    """Close the connection (a pipeline or spider at the end of its crawl)."""
    db.conn.close()
